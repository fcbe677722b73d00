#include "models/sampling/denoiser.hpp"

#include <cmath>

namespace crowdiff::models {

double model_input_scale(double sigma) {
  return 1.0 / std::sqrt(sigma * sigma + 1.0);
}

void denoised_from_model_output(prediction_type prediction, std::span<const float> x, double sigma,
                                std::span<const float> model_output, std::span<float> denoised) {
  if (prediction == prediction_type::epsilon) {
    for (size_t i = 0; i < x.size(); ++i)
      denoised[i] = static_cast<float>(x[i] - sigma * model_output[i]);
    return;
  }
  const double c_skip = 1.0 / (sigma * sigma + 1.0);
  const double c_out = -sigma / std::sqrt(sigma * sigma + 1.0);
  for (size_t i = 0; i < x.size(); ++i)
    denoised[i] = static_cast<float>(x[i] * c_skip + model_output[i] * c_out);
}

void classifier_free_guidance(std::span<const float> cond, std::span<const float> uncond, double scale,
                              std::span<float> out) {
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(uncond[i] + scale * (static_cast<double>(cond[i]) - uncond[i]));
}

}  // namespace crowdiff::models
