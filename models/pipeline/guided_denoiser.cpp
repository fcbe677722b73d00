#include "models/pipeline/guided_denoiser.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/status_macros.hpp"
#include "models/sampling/denoiser.hpp"

namespace crowdiff::models {

namespace {

// One evaluation: x (flat) -> denoised (flat).
status guided_step(const stable_diffusion& model, const kernels::tensor& context, double cfg_scale,
                   const latent_shape& shape, bool quantize, std::span<const float> x, double sigma,
                   std::span<float> denoised, std::vector<float>& output) {
  kernels::backend& be = model.backend();
  const int64_t batch = context.size(0);
  const kernels::tensor host_x =
      kernels::tensor::borrow(x.data(), {1, shape.channels, shape.height, shape.width}, kernels::dtype::f32);
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor latent, be.upload(host_x));  // [1, C, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(latent, be.scale(latent, static_cast<float>(model_input_scale(sigma)), 0.0f,
                                             latent));  // [1, C, h, w]
  if (batch == 2) {
    CROWDIFF_ASSIGN_OR_RETURN(latent, be.concat({latent, latent}, 0));  // [2, C, h, w]
  }
  const double t[] = {model.schedule().sigma_to_t(sigma, quantize)};
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor predicted, model.unet()(be, latent, t, context));  // [B, C, h, w]
  output.resize(static_cast<size_t>(predicted.numel()));
  CROWDIFF_RETURN_IF_ERROR(be.download(
      predicted, kernels::tensor::borrow_mutable(output.data(), predicted.shape(), kernels::dtype::f32)));
  const prediction_type prediction = model.config().schedule.prediction;
  const size_t n = x.size();
  const std::span<float> cond(output.data(), n);
  denoised_from_model_output(prediction, x, sigma, cond, cond);
  if (batch == 1) {
    std::copy(cond.begin(), cond.end(), denoised.begin());
    return status::ok();
  }
  const std::span<float> uncond(output.data() + n, n);
  denoised_from_model_output(prediction, x, sigma, uncond, uncond);
  classifier_free_guidance(cond, uncond, cfg_scale, denoised);
  return status::ok();
}

}  // namespace

denoise_fn make_guided_denoiser(const stable_diffusion& model, kernels::tensor context, double cfg_scale,
                                latent_shape shape, bool quantize_timesteps,
                                const std::atomic<bool>* cancelled) {
  auto output = std::make_shared<std::vector<float>>();
  return [&model, context = std::move(context), cfg_scale, shape, quantize_timesteps, cancelled, output](
             std::span<const float> x, double sigma, std::span<float> denoised) -> status {
    if (cancelled != nullptr && cancelled->load(std::memory_order_relaxed))
      return status{errc::cancelled, "generation cancelled"};
    if (x.size() != static_cast<size_t>(shape.numel()) || denoised.size() != x.size())
      return status{errc::internal, "guided denoiser: latent of " + std::to_string(x.size()) +
                                        " values, expected " + std::to_string(shape.numel())};
    return guided_step(model, context, cfg_scale, shape, quantize_timesteps, x, sigma, denoised, *output);
  };
}

}  // namespace crowdiff::models
