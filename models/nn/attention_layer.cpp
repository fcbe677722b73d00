#include "models/nn/attention_layer.hpp"

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

result<attention_layer> attention_layer::load(weight_loader& loader, const std::string& prefix,
                                              int64_t query_dim, int64_t context_dim, int64_t heads,
                                              int64_t head_dim, bool qkv_bias,
                                              const projection_names& names) {
  if (heads <= 0 || head_dim <= 0)
    return status{errc::unsupported, prefix + ": " + std::to_string(heads) + " heads of " +
                                         std::to_string(head_dim) + " channels"};
  attention_layer layer;
  layer.heads_ = heads;
  const int64_t inner = heads * head_dim;
  const auto name = [&](std::string_view leaf) { return prefix + std::string(leaf) + "."; };
  CROWDIFF_ASSIGN_OR_RETURN(layer.q_, linear_layer::load(loader, name(names.q), query_dim, inner, qkv_bias));
  CROWDIFF_ASSIGN_OR_RETURN(layer.k_,
                            linear_layer::load(loader, name(names.k), context_dim, inner, qkv_bias));
  CROWDIFF_ASSIGN_OR_RETURN(layer.v_,
                            linear_layer::load(loader, name(names.v), context_dim, inner, qkv_bias));
  CROWDIFF_ASSIGN_OR_RETURN(layer.out_, linear_layer::load(loader, name(names.out), inner, query_dim));
  return layer;
}

result<kernels::tensor> attention_layer::operator()(kernels::backend& be, const kernels::tensor& x,
                                                    const kernels::tensor& context, bool causal) const {
  const kernels::tensor& source = context.defined() ? context : x;
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor q, q_(be, x));       // [N, L, inner]
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor k, k_(be, source));  // [N, Lc, inner]
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor v, v_(be, source));  // [N, Lc, inner]
  kernels::attention_options options;
  options.causal = causal;
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor mixed, be.attention(q, k, v, heads_, options));  // [N, L, inner]
  return out_(be, mixed);  // [N, L, query_dim]
}

}  // namespace crowdiff::models
