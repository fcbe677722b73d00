#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/layers.hpp"

namespace crowdiff::models {

/// diffusers' ResnetBlock2D as Stable Diffusion uses it (UNet and VAE):
///   h = conv1(silu(norm1(x))) [+ time_emb_proj(silu(temb)) per channel]
///   h = conv2(silu(norm2(h)))            (dropout is the identity at inference)
///   out = shortcut(x) + h                (a 1x1 conv_shortcut when the channel count changes)
/// Names under `prefix`: norm1, conv1, time_emb_proj (UNet only), norm2, conv2, conv_shortcut.
class resnet_block {
 public:
  /// `time_channels` 0 means no time embedding (the VAE). Errors: those of the loader.
  static result<resnet_block> load(weight_loader& loader, const std::string& prefix, int64_t in, int64_t out,
                                   int64_t time_channels, int64_t groups, float eps);

  /// x [N, in, H, W]; temb_act [N, time_channels] (already through SiLU; undefined without a time
  /// embedding) -> [N, out, H, W].
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x,
                                     const kernels::tensor& temb_act = {}) const;

  int64_t out_channels() const { return out_; }

 private:
  group_norm_layer norm1_, norm2_;
  conv_layer conv1_, conv2_;
  std::optional<linear_layer> time_emb_proj_;
  std::optional<conv_layer> shortcut_;
  int64_t out_ = 0;
};

}  // namespace crowdiff::models
