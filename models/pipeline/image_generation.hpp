#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "models/image/generation_parameters.hpp"
#include "models/image/rgb_image.hpp"
#include "models/pipeline/stable_diffusion.hpp"
#include "models/sampling/sampler_table.hpp"

namespace crowdiff::models {

/// Encoded output formats. Persisted with results: never renumber.
enum class image_format : uint8_t { webp = 0, png = 1 };

std::string_view to_string(image_format format);

/// Where the reference implementations differ in how noise meets the model. The AI Horde's worker runs
/// ComfyUI; k-diffusion's own sampling scripts (and the committed fixtures) make the other choices.
struct sampling_conventions {
  /// txt2img starts from noise * sqrt(1 + sigma_max^2) (ComfyUI) rather than noise * sigma_max.
  bool comfy_max_denoise = true;
  /// The UNet is conditioned on the nearest training timestep (ComfyUI) rather than an interpolated one.
  bool quantize_timesteps = true;
  /// k_dpmpp_sde draws its noise from a Brownian tree (ComfyUI, k-diffusion's default) rather than one
  /// torch.randn per call.
  bool brownian_sde_noise = true;

  /// The AI Horde worker's (ComfyUI's) choices: the default.
  static constexpr sampling_conventions comfyui() { return {}; }
  /// k-diffusion's sampling loop with torch.randn noise for every stochastic sampler: what
  /// tools/make_fixtures.py recorded.
  static constexpr sampling_conventions k_diffusion() { return {false, false, false}; }
};

/// One image to generate. Sizes are in pixels; sides must be multiples of the model's size_step() (8 for SD).
struct generation_request {
  std::string prompt;           ///< The AI Horde's "prompt ### negative" form is split at the first "###".
  std::string negative_prompt;  ///< Joined to a "###" negative with ", " when both are given.
  std::string sampler{default_sampler.horde_name};
  bool karras = false;
  int steps = 20;
  double cfg_scale = 7.0;
  int width = 512;
  int height = 512;
  uint64_t seed = 0;
  int clip_skip = 1;  ///< 0 or 1: no skip.
  /// img2img: the source (resized to width x height when it differs) and how much of it to replace, in (0,
  /// 1]: the run takes the last `steps` levels of a schedule made for int(steps / strength) steps.
  std::optional<rgb_image> source;
  double denoising_strength = 1.0;
  image_format format = image_format::webp;
  sampling_conventions conventions;
};

/// Which weights made an image: written into its metadata.
struct model_reference {
  std::string name;
  std::string sha256;
};

struct generation_result {
  rgb_image image;
  std::vector<uint8_t> encoded;  ///< `format`, with the A1111 parameters text embedded.
  image_format format = image_format::webp;
  generation_parameters parameters;
  std::vector<float> latent;  ///< The final latent, [C, h, w] in the sampler's scale.
};

struct generation_hooks {
  /// After every sampler step: (steps done, steps in all).
  std::function<void(int done, int total)> on_step;
  /// Checked before every UNet evaluation; when set the generation stops with errc::cancelled.
  const std::atomic<bool>* cancelled = nullptr;
};

/// Checks a request against a model without running anything. Errors: invalid_argument (steps outside
/// 1..1000, a negative or non-finite guidance scale, sides not positive multiples of the model's
/// size_step() or over 8192, a strength outside (0, 1], a clip skip leaving no layer), unsupported (a
/// sampler crowdiff does not run), failed_precondition (img2img on a model loaded without its encoder).
status validate_request(const stable_diffusion& model, const generation_request& request);

/// The sampling half of generate_image: the conditioning, the initial latent (over `source_latent` when it is
/// not empty: img2img from a [C, h, w] latent in the sampler's scale, with the request's denoising strength;
/// `request.source` is not read) and the sampler run. Returns the final latent. For callers that hold the
/// source as a latent already. Errors: as generate_image, and invalid_argument for a source of another size.
result<std::vector<float>> sample_latent(const stable_diffusion& model, const generation_request& request,
                                         std::span<const float> source_latent,
                                         const generation_hooks& hooks = {});

/// Runs a request: prompt -> conditioning (chunked, guidance-batched), the seeded torch-compatible initial
/// noise (img2img: over the VAE-encoded source), the sampler over the schedule, VAE decode, RGB8, and the
/// encoded image with its generation parameters. Errors: those of validate_request, errc::cancelled when
/// `hooks.cancelled` is set, and the backend's.
result<generation_result> generate_image(const stable_diffusion& model, const model_reference& identity,
                                         const generation_request& request,
                                         const generation_hooks& hooks = {});

}  // namespace crowdiff::models
