#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/layers.hpp"

namespace crowdiff::models {

/// The sinusoidal features of timesteps, as diffusers' get_timestep_embedding with SD's settings
/// (flip_sin_to_cos, no frequency shift, max period 10000) and in float32 as torch computes them:
/// frequency_i = exp(-ln(10000) * i / (dim / 2)), row = [cos(t f_0), ..., cos(t f_{dim/2-1}), sin(t f_0),
/// ...]. Fractional timesteps are used as they are. Writes timesteps.size() rows of `dim` floats into `out`.
void sinusoidal_embedding(std::span<const double> timesteps, int64_t dim, std::span<float> out);

/// The UNet's time embedding MLP: linear_1 (C -> 4C), SiLU, linear_2 (4C -> 4C), applied to the sinusoidal
/// features of width C (the first block's channel count).
class timestep_embedding {
 public:
  static result<timestep_embedding> load(weight_loader& loader, const std::string& prefix, int64_t channels,
                                         int64_t time_channels);

  /// One row per timestep -> [N, time_channels], then SiLU: the resnets all start with that nonlinearity,
  /// so it is applied once here.
  result<kernels::tensor> operator()(kernels::backend& be, std::span<const double> timesteps) const;

 private:
  linear_layer linear_1_, linear_2_;
  int64_t channels_ = 0;
};

}  // namespace crowdiff::models
