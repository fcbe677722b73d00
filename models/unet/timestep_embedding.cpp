#include "models/unet/timestep_embedding.hpp"

#include <cmath>

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

void sinusoidal_embedding(std::span<const double> timesteps, int64_t dim, std::span<float> out) {
  const int64_t half = dim / 2;
  // Each product and exponential rounded to float as torch does it, so that t = 999 gives the same
  // arguments (sin and cos of values near 1000 amplify any difference in the argument).
  const auto log_period = static_cast<float>(-std::log(10000.0));
  for (size_t row = 0; row < timesteps.size(); ++row) {
    const auto t = static_cast<float>(timesteps[row]);
    float* dst = out.data() + static_cast<int64_t>(row) * dim;
    for (int64_t i = 0; i < half; ++i) {
      const float exponent = log_period * static_cast<float>(i) / static_cast<float>(half);
      const float arg = t * std::exp(exponent);
      dst[i] = std::cos(arg);
      dst[half + i] = std::sin(arg);
    }
    if (dim % 2 != 0)
      dst[dim - 1] = 0.0f;  // diffusers pads an odd width with a zero column
  }
}

result<timestep_embedding> timestep_embedding::load(weight_loader& loader, const std::string& prefix,
                                                    int64_t channels, int64_t time_channels) {
  timestep_embedding module;
  module.channels_ = channels;
  CROWDIFF_ASSIGN_OR_RETURN(module.linear_1_,
                            linear_layer::load(loader, prefix + "linear_1.", channels, time_channels));
  CROWDIFF_ASSIGN_OR_RETURN(module.linear_2_,
                            linear_layer::load(loader, prefix + "linear_2.", time_channels, time_channels));
  return module;
}

result<kernels::tensor> timestep_embedding::operator()(kernels::backend& be,
                                                       std::span<const double> timesteps) const {
  const auto n = static_cast<int64_t>(timesteps.size());
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor features,
                            kernels::tensor::host({n, channels_}, kernels::dtype::f32));  // [N, C]
  sinusoidal_embedding(timesteps, channels_,
                       {features.mutable_data_as<float>(), static_cast<size_t>(features.numel())});
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor h, be.upload(features));  // [N, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, linear_1_(be, h));                     // [N, 4C]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.silu(h, h));                        // [N, 4C]
  CROWDIFF_ASSIGN_OR_RETURN(h, linear_2_(be, h));                     // [N, 4C]
  return be.silu(h, h);                                               // [N, 4C]
}

}  // namespace crowdiff::models
