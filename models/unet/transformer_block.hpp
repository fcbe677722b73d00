#pragma once

#include <cstdint>
#include <string>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/attention_layer.hpp"
#include "models/nn/layers.hpp"

namespace crowdiff::models {

/// diffusers' BasicTransformerBlock as Stable Diffusion uses it, on tokens [N, L, C]:
///   x += attn1(norm1(x))                 self-attention
///   x += attn2(norm2(x), context)        cross-attention to the text
///   x += ff(norm3(x))                    GEGLU feed-forward: net.0.proj C -> 8C, gate, net.2 4C -> C
class transformer_block {
 public:
  /// Loads `prefix` (".../transformer_blocks.N."): `dim` channels in `heads` heads, attending to a context
  /// of `context_dim` channels.
  static result<transformer_block> load(weight_loader& loader, const std::string& prefix, int64_t dim,
                                        int64_t heads, int64_t context_dim);

  /// x [N, L, dim], context [N, Lc, context_dim] -> [N, L, dim].
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x,
                                     const kernels::tensor& context) const;

 private:
  layer_norm_layer norm1_, norm2_, norm3_;
  attention_layer attn1_, attn2_;
  linear_layer ff_in_, ff_out_;
};

}  // namespace crowdiff::models
