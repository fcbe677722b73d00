#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/layers.hpp"

namespace crowdiff::models {

/// The checkpoint names of an attention's four projections: diffusers' `to_q, to_k, to_v, to_out.0` (UNet,
/// VAE) or CLIP's `q_proj, k_proj, v_proj, out_proj`.
struct projection_names {
  std::string_view q = "to_q";
  std::string_view k = "to_k";
  std::string_view v = "to_v";
  std::string_view out = "to_out.0";
};
inline constexpr projection_names clip_projection_names{"q_proj", "k_proj", "v_proj", "out_proj"};

/// Multi-head scaled dot-product attention with its projections: q from x, k and v from a context (x itself
/// for self-attention), softmax(q k^T / sqrt(head_dim)) v per head, then the output projection (with bias).
/// Heads stay side by side in the channel dimension as the projections write them.
class attention_layer {
 public:
  /// Loads `prefix` + the four projection names. q: [inner, query_dim]; k, v: [inner, context_dim];
  /// out: [query_dim, inner] + bias; q/k/v biases when `qkv_bias`. inner = heads * head_dim.
  static result<attention_layer> load(weight_loader& loader, const std::string& prefix, int64_t query_dim,
                                      int64_t context_dim, int64_t heads, int64_t head_dim, bool qkv_bias,
                                      const projection_names& names = {});

  /// x [N, L, query_dim], context [N, Lc, context_dim] (undefined: self-attention) -> [N, L, query_dim].
  /// `causal`: position i attends to positions <= i only (CLIP).
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x,
                                     const kernels::tensor& context = {}, bool causal = false) const;

 private:
  linear_layer q_, k_, v_, out_;
  int64_t heads_ = 1;
};

}  // namespace crowdiff::models
