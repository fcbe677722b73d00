#pragma once

#include <cstdint>
#include <string>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/attention_layer.hpp"
#include "models/nn/layers.hpp"

namespace crowdiff::models {

/// The VAE's mid-block self-attention (diffusers' Attention with a GroupNorm and a residual): one head over
/// every pixel, out = x + to_out(attention(group_norm(x) as [N, H*W, C])) as [N, C, H, W].
class vae_attention {
 public:
  /// Loads `prefix` ("vae.decoder.mid_block.attentions.0."): group_norm, to_q/k/v/out.0, all with biases.
  static result<vae_attention> load(weight_loader& loader, const std::string& prefix, int64_t channels,
                                    int64_t groups);

  /// x [N, C, H, W] -> [N, C, H, W].
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x) const;

 private:
  group_norm_layer norm_;
  attention_layer attention_;
};

}  // namespace crowdiff::models
