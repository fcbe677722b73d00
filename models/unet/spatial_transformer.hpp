#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/layers.hpp"
#include "models/unet/transformer_block.hpp"

namespace crowdiff::models {

/// diffusers' Transformer2DModel (the UNet's "attentions.N"): the image as tokens through transformer blocks,
/// added back to the input:
///   h = proj_in(norm(x) as [N, H*W, C]);  h = blocks(h, context);  out = x + proj_out(h) as [N, C, H, W]
/// SD 1.x's proj_in/proj_out are 1x1 convolutions, SD 2.x's linears: on channels-last tokens they are the
/// same matrix product, so both run as a linear after the layout change.
class spatial_transformer {
 public:
  /// Loads `prefix` ("unet.down_blocks.0.attentions.1."): `channels` channels in `heads` heads, `layers`
  /// transformer blocks, GroupNorm with `groups` groups.
  static result<spatial_transformer> load(weight_loader& loader, const std::string& prefix, int64_t channels,
                                          int64_t heads, int layers, int64_t context_dim, int64_t groups,
                                          bool linear_projection);

  /// x [N, C, H, W], context [N, Lc, context_dim] -> [N, C, H, W].
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x,
                                     const kernels::tensor& context) const;

 private:
  group_norm_layer norm_;
  linear_layer proj_in_, proj_out_;
  std::vector<transformer_block> blocks_;
};

}  // namespace crowdiff::models
