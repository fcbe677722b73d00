#include "models/unet/transformer_block.hpp"

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

result<transformer_block> transformer_block::load(weight_loader& loader, const std::string& prefix,
                                                  int64_t dim, int64_t heads, int64_t context_dim) {
  if (heads <= 0 || dim % heads != 0)
    return status{errc::unsupported,
                  prefix + ": " + std::to_string(dim) + " channels in " + std::to_string(heads) + " heads"};
  const int64_t head_dim = dim / heads;
  // diffusers' FeedForward with GEGLU: inner width 4 * dim, the projection makes value and gate together.
  const int64_t inner = 4 * dim;
  constexpr float eps = 1e-5f;
  transformer_block block;
  CROWDIFF_ASSIGN_OR_RETURN(block.norm1_, layer_norm_layer::load(loader, prefix + "norm1.", dim, eps));
  CROWDIFF_ASSIGN_OR_RETURN(
      block.attn1_, attention_layer::load(loader, prefix + "attn1.", dim, dim, heads, head_dim, false));
  CROWDIFF_ASSIGN_OR_RETURN(block.norm2_, layer_norm_layer::load(loader, prefix + "norm2.", dim, eps));
  CROWDIFF_ASSIGN_OR_RETURN(block.attn2_, attention_layer::load(loader, prefix + "attn2.", dim, context_dim,
                                                                heads, head_dim, false));
  CROWDIFF_ASSIGN_OR_RETURN(block.norm3_, layer_norm_layer::load(loader, prefix + "norm3.", dim, eps));
  CROWDIFF_ASSIGN_OR_RETURN(block.ff_in_,
                            linear_layer::load(loader, prefix + "ff.net.0.proj.", dim, 2 * inner));
  CROWDIFF_ASSIGN_OR_RETURN(block.ff_out_, linear_layer::load(loader, prefix + "ff.net.2.", inner, dim));
  return block;
}

result<kernels::tensor> transformer_block::operator()(kernels::backend& be, const kernels::tensor& x,
                                                      const kernels::tensor& context) const {
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor h, norm1_(be, x));    // [N, L, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, attn1_(be, h));                    // [N, L, C]
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor y, be.add(h, x, h));  // [N, L, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, norm2_(be, y));                    // [N, L, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, attn2_(be, h, context));           // [N, L, C]
  CROWDIFF_ASSIGN_OR_RETURN(y, be.add(h, y, h));                  // [N, L, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, norm3_(be, y));                    // [N, L, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, ff_in_(be, h));                    // [N, L, 8C]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.geglu(h));                      // [N, L, 4C]
  CROWDIFF_ASSIGN_OR_RETURN(h, ff_out_(be, h));                   // [N, L, C]
  return be.add(h, y, h);                                         // [N, L, C]
}

}  // namespace crowdiff::models
