#include "models/pipeline/image_generation.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/status_macros.hpp"
#include "models/image/image_resize.hpp"
#include "models/image/png_codec.hpp"
#include "models/image/webp_codec.hpp"
#include "models/pipeline/guided_denoiser.hpp"
#include "models/pipeline/latent_images.hpp"
#include "models/pipeline/prompt_conditioning.hpp"
#include "models/sampling/noise_schedule.hpp"
#include "models/sampling/samplers.hpp"
#include "models/sampling/torch_rng.hpp"
#include "models/text/prompt_chunks.hpp"

namespace crowdiff::models {

namespace {

constexpr int max_steps = 1000;
constexpr int max_side = 8192;

status bad(std::string message) {
  return status{errc::invalid_argument, std::move(message)};
}

std::string trimmed(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos)
    return {};
  return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

// The tokenizer ignores the spaces around "###"; the metadata should not show them.
horde_prompt prompts_of(const generation_request& request) {
  horde_prompt split = split_horde_prompt(request.prompt);
  split.positive = trimmed(split.positive);
  split.negative = trimmed(split.negative);
  if (split.negative.empty())
    split.negative = request.negative_prompt;
  else if (!request.negative_prompt.empty())
    split.negative += ", " + request.negative_prompt;
  return split;
}

result<std::vector<uint8_t>> encode_output(const rgb_image& image, image_format format,
                                           const std::string& text) {
  if (format == image_format::png)
    return encode_png(image, {{"parameters", text}});
  webp_options options;
  options.user_comment = text;
  return encode_webp(image, options);
}

}  // namespace

std::string_view to_string(image_format format) {
  return format == image_format::png ? "png" : "webp";
}

status validate_request(const stable_diffusion& model, const generation_request& request) {
  if (request.steps < 1 || request.steps > max_steps)
    return bad("steps must be from 1 to " + std::to_string(max_steps) + ", not " +
               std::to_string(request.steps));
  if (!std::isfinite(request.cfg_scale) || request.cfg_scale < 0)
    return bad("the guidance scale must be a finite number >= 0");
  const int64_t multiple = model.size_step();
  for (const auto& [name, side] : {std::pair{"width", request.width}, std::pair{"height", request.height}}) {
    if (side <= 0 || side > max_side || side % multiple != 0)
      return bad(std::string(name) + " must be a multiple of " + std::to_string(multiple) + " from " +
                 std::to_string(multiple) + " to " + std::to_string(max_side) + " for this model, not " +
                 std::to_string(side));
  }
  auto sampler = sampler_from_horde_name(request.sampler);
  if (!sampler)
    return sampler.error();
  CROWDIFF_RETURN_IF_ERROR(text_layers_for_clip_skip(model, request.clip_skip).to_status());
  if (request.source) {
    if (!request.source->valid())
      return bad("the img2img source is not a valid image");
    if (!(request.denoising_strength > 0 && request.denoising_strength <= 1))
      return bad("denoising strength must be in (0, 1]");
    if (!model.encoder())
      return status{errc::failed_precondition, "this model was loaded without its VAE encoder (img2img)"};
  }
  return status::ok();
}

result<std::vector<float>> sample_latent(const stable_diffusion& model, const generation_request& request,
                                         std::span<const float> source_latent,
                                         const generation_hooks& hooks) {
  CROWDIFF_RETURN_IF_ERROR(validate_request(model, request));
  const auto cancelled = [&] { return hooks.cancelled != nullptr && hooks.cancelled->load(); };
  if (cancelled())
    return status{errc::cancelled, "generation cancelled"};
  const sampler_kind sampler = *sampler_from_horde_name(request.sampler);
  const sampling_conventions& conventions = request.conventions;
  const horde_prompt prompts = prompts_of(request);
  const bool guided = request.cfg_scale != 1.0;
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor context, encode_prompts(model, prompts.positive, prompts.negative,
                                                                    request.clip_skip, guided));

  const int64_t factor = model.latent_factor();
  const latent_shape shape{model.config().vae.latent_channels, request.height / factor,
                           request.width / factor};
  const bool img2img = !source_latent.empty();
  if (img2img && source_latent.size() != static_cast<size_t>(shape.numel()))
    return bad("the img2img source latent has " + std::to_string(source_latent.size()) + " values, not " +
               std::to_string(shape.numel()));
  if (img2img && !(request.denoising_strength > 0 && request.denoising_strength <= 1))
    return bad("denoising strength must be in (0, 1]");
  const sigma_schedule spacing = request.karras ? sigma_schedule::karras : sigma_schedule::normal;
  const std::vector<double> sigmas =
      img2img ? make_img2img_sigmas(model.schedule(), spacing, request.steps, request.denoising_strength)
              : make_sigmas(model.schedule(), spacing, request.steps);

  // The initial noise is torch.randn(latent shape) from a generator seeded with the job seed.
  std::vector<float> x = torch_rng(request.seed).randn(static_cast<size_t>(shape.numel()));
  make_initial_latent(x, img2img ? source_latent : std::span<const float>(), sigmas.front(),
                      conventions.comfy_max_denoise && !img2img);

  const denoise_fn denoise = make_guided_denoiser(model, context, request.cfg_scale, shape,
                                                  conventions.quantize_timesteps, hooks.cancelled);
  const noise_fn noise = conventions.brownian_sde_noise
                             ? comfyui_noise(sampler, sigmas, x.size(), request.seed)
                             : torch_noise(request.seed);
  sampler_options options;
  options.on_step = [&](size_t done, size_t total) -> status {
    if (hooks.on_step)
      hooks.on_step(static_cast<int>(done), static_cast<int>(total));
    return cancelled() ? status{errc::cancelled, "generation cancelled"} : status::ok();
  };
  CROWDIFF_RETURN_IF_ERROR(sample(sampler, denoise, x, sigmas, noise, options));
  return x;
}

result<generation_result> generate_image(const stable_diffusion& model, const model_reference& identity,
                                         const generation_request& request, const generation_hooks& hooks) {
  CROWDIFF_RETURN_IF_ERROR(validate_request(model, request));
  std::vector<float> source;
  if (request.source) {
    const rgb_image sized = resize_bilinear(*request.source, request.width, request.height);
    CROWDIFF_ASSIGN_OR_RETURN(source, encode_image(model, sized));
  }
  generation_result out;
  kernels::arena& memory = model.backend().memory();
  CROWDIFF_ASSIGN_OR_RETURN(out.latent, sample_latent(model, request, source, hooks));
  // The arena keeps freed blocks by size class for the next step. The VAE's activations at full resolution
  // come in other sizes than the UNet's, so without a trim the two working sets would be held at once
  // (about 1.5 GB more at 512x512); likewise the decoder's blocks are of no use to the next job's UNet.
  memory.trim();
  const int64_t factor = model.latent_factor();
  auto image = decode_latent(model, out.latent, request.height / factor, request.width / factor);
  memory.trim();
  if (!image)
    return image.error();
  out.image = std::move(*image);
  out.format = request.format;
  const horde_prompt prompts = prompts_of(request);
  generation_parameters& params = out.parameters;
  params.prompt = prompts.positive;
  params.negative_prompt = prompts.negative;
  params.steps = request.steps;
  params.sampler = request.sampler;
  params.karras = request.karras;
  params.cfg_scale = request.cfg_scale;
  params.seed = request.seed;
  params.width = request.width;
  params.height = request.height;
  params.model_name = identity.name;
  params.model_hash = identity.sha256;
  if (request.source)
    params.denoising_strength = request.denoising_strength;
  params.clip_skip = std::max(request.clip_skip, 1);
  CROWDIFF_ASSIGN_OR_RETURN(out.encoded,
                            encode_output(out.image, request.format, format_a1111_parameters(params)));
  return out;
}

}  // namespace crowdiff::models
