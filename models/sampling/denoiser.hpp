#pragma once

#include <span>

#include "models/weights/model_config.hpp"

namespace crowdiff::models {

/// What the caller's denoise callback does around the UNet, in k-diffusion's (and ComfyUI's) convention
/// for SD models: the UNet sees x * model_input_scale(sigma) at timestep sigma_to_t(sigma), and its output
/// becomes a denoised estimate with denoised_from_model_output.

/// c_in = 1 / sqrt(sigma^2 + 1).
double model_input_scale(double sigma);

/// eps models: denoised = x - sigma * eps. v models (SD 2.x 768-v): denoised = x / (sigma^2 + 1) -
/// v * sigma / sqrt(sigma^2 + 1). All spans have the same size; `denoised` may alias `model_output`.
void denoised_from_model_output(prediction_type prediction, std::span<const float> x, double sigma,
                                std::span<const float> model_output, std::span<float> denoised);

/// Classifier-free guidance: out = uncond + scale * (cond - uncond). `out` may alias either input.
void classifier_free_guidance(std::span<const float> cond, std::span<const float> uncond, double scale,
                              std::span<float> out);

}  // namespace crowdiff::models
