#pragma once

#include <cstdint>
#include <string>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/weight_loader.hpp"

// The parameterised layers every block is built from, each a pair of prepared weights and the op that reads
// them. `load` takes the checkpoint prefix of the layer ("unet.conv_in.") and the extents the architecture
// expects, so that a checkpoint of another shape is an error naming the tensor, never a wrong result.
namespace crowdiff::models {

/// y = x W^T + b over the last dimension, PyTorch's Linear: W [out, in], b [out] (optional).
struct linear_layer {
  kernels::tensor weight;
  kernels::tensor bias;

  static result<linear_layer> load(weight_loader& loader, const std::string& prefix, int64_t in, int64_t out,
                                   bool bias = true);
  /// A 1x1 convolution filter [out, in, 1, 1] used as the linear it is on channels-last data (SD 1.x's
  /// transformer proj_in/proj_out).
  static result<linear_layer> load_pointwise(weight_loader& loader, const std::string& prefix, int64_t in,
                                             int64_t out);
  /// x [.., in] -> [.., out].
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x) const {
    return be.linear(x, weight, bias);
  }
};

/// A 2-D convolution with bias: filter [out, in, k, k].
struct conv_layer {
  kernels::tensor weight;
  kernels::tensor bias;
  kernels::conv2d_options options;

  static result<conv_layer> load(weight_loader& loader, const std::string& prefix, int64_t in, int64_t out,
                                 int64_t kernel, kernels::conv2d_options options);
  /// x [N, in, H, W] -> [N, out, OH, OW].
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x) const {
    return be.conv2d(x, weight, bias, options);
  }
};

/// Group normalisation with affine parameters [C], optionally followed by SiLU (fused on the backend).
struct group_norm_layer {
  kernels::tensor gamma;
  kernels::tensor beta;
  int64_t groups = 32;
  float eps = 1e-5f;

  static result<group_norm_layer> load(weight_loader& loader, const std::string& prefix, int64_t channels,
                                       int64_t groups, float eps);
  /// x [N, C, ...] -> the same shape.
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x, bool silu) const {
    return be.group_norm(x, groups, gamma, beta, eps, silu);
  }
};

/// Layer normalisation over the last dimension with affine parameters [D].
struct layer_norm_layer {
  kernels::tensor gamma;
  kernels::tensor beta;
  float eps = 1e-5f;

  static result<layer_norm_layer> load(weight_loader& loader, const std::string& prefix, int64_t dim,
                                       float eps);
  /// x [.., D] -> the same shape.
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x) const {
    return be.layer_norm(x, gamma, beta, eps);
  }
};

}  // namespace crowdiff::models
