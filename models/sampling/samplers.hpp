#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "common/status.hpp"
#include "models/sampling/sampler_table.hpp"
#include "models/sampling/torch_rng.hpp"

namespace crowdiff::models {

/// The model as a sampler sees it: writes the denoised estimate of the flat latent `x` at noise level
/// `sigma` into `denoised` (same size). The caller's callback owns everything model-side: batching,
/// classifier-free guidance, input scaling and the eps/v conversion (see denoiser.hpp). An error stops
/// sampling and is returned as is.
using denoise_fn = std::function<status(std::span<const float> x, double sigma, std::span<float> denoised)>;

/// Unit-variance noise for the step from `sigma` to `sigma_next`, written into `out`.
using noise_fn = std::function<void(double sigma, double sigma_next, std::span<float> out)>;

/// The sampler for an AI Horde `sampler_name` ("k_euler", "k_dpmpp_2m", "DDIM", "lcm", ...;
/// sampler_table.hpp). Errors: unsupported for known Horde names crowdiff does not run (k_dpm_fast,
/// k_dpm_adaptive, dpmsolver), invalid_argument for unknown names.
result<sampler_kind> sampler_from_horde_name(std::string_view name);
std::string_view horde_name(sampler_kind kind);
/// True for samplers that draw noise during sampling (they need a noise_fn).
bool is_stochastic(sampler_kind kind);

/// Called after each completed step with (steps done, steps in all); an error it returns stops sampling
/// and is returned by `sample` (how a pipeline reports progress and honours cancellation between steps).
using step_observer = std::function<status(size_t done, size_t total)>;

struct sampler_options {
  double eta = 1.0;       ///< Ancestral/SDE noise amount (1 = the k-diffusion default).
  double s_noise = 1.0;   ///< Scale on the drawn noise.
  step_observer on_step;  ///< Optional.
};

/// Runs `kind` over the noise levels `sigmas` (decreasing, ending in 0; at least 2 entries) starting from
/// `x` (already noised to sigmas[0]) and leaves the final latent in `x`. k-diffusion's algorithms
/// (k_diffusion.sampling.sample_*), in double precision for scalars and float for latents. `noise` is needed
/// only by stochastic samplers. Errors: invalid_argument for a bad schedule or missing noise, and any error
/// `denoise` returns.
status sample(sampler_kind kind, const denoise_fn& denoise, std::span<float> x,
              std::span<const double> sigmas, const noise_fn& noise = {},
              const sampler_options& options = {});

/// The noise ComfyUI (and so the AI Horde worker) adds in ancestral steps: a fresh torch CPU generator
/// seeded with the job seed, drawing torch.randn(latent shape) at each call.
noise_fn torch_noise(uint64_t seed, torch_normal_kernel kernel = torch_normal_kernel::avx2);

/// The noise ComfyUI gives `kind` for a job: k_dpmpp_sde gets a Brownian tree over the schedule's nonzero
/// range (brownian_tree.hpp), every other sampler torch_noise(seed). `size` is the latent's element count
/// (the whole batch: ComfyUI draws one tensor for it).
noise_fn comfyui_noise(sampler_kind kind, std::span<const double> sigmas, size_t size, uint64_t seed,
                       torch_normal_kernel kernel = torch_normal_kernel::avx2);

}  // namespace crowdiff::models
