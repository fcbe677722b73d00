#include "models/unet/spatial_transformer.hpp"

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

result<spatial_transformer> spatial_transformer::load(weight_loader& loader, const std::string& prefix,
                                                      int64_t channels, int64_t heads, int layers,
                                                      int64_t context_dim, int64_t groups,
                                                      bool linear_projection) {
  spatial_transformer module;
  // diffusers builds this norm with eps 1e-6, unlike the resnets' 1e-5.
  CROWDIFF_ASSIGN_OR_RETURN(module.norm_,
                            group_norm_layer::load(loader, prefix + "norm.", channels, groups, 1e-6f));
  if (linear_projection) {
    CROWDIFF_ASSIGN_OR_RETURN(module.proj_in_,
                              linear_layer::load(loader, prefix + "proj_in.", channels, channels));
    CROWDIFF_ASSIGN_OR_RETURN(module.proj_out_,
                              linear_layer::load(loader, prefix + "proj_out.", channels, channels));
  } else {
    CROWDIFF_ASSIGN_OR_RETURN(module.proj_in_,
                              linear_layer::load_pointwise(loader, prefix + "proj_in.", channels, channels));
    CROWDIFF_ASSIGN_OR_RETURN(module.proj_out_,
                              linear_layer::load_pointwise(loader, prefix + "proj_out.", channels, channels));
  }
  for (int i = 0; i < layers; ++i) {
    CROWDIFF_ASSIGN_OR_RETURN(
        transformer_block block,
        transformer_block::load(loader, prefix + "transformer_blocks." + std::to_string(i) + ".", channels,
                                heads, context_dim));
    module.blocks_.push_back(std::move(block));
  }
  return module;
}

result<kernels::tensor> spatial_transformer::operator()(kernels::backend& be, const kernels::tensor& x,
                                                        const kernels::tensor& context) const {
  const int64_t n = x.size(0), c = x.size(1), height = x.size(2), width = x.size(3);
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor h, norm_(be, x, /*silu=*/false));  // [N, C, H, W]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.permute(h, {0, 2, 3, 1}));                   // [N, H, W, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, h.reshape({n, height * width, c}));             // [N, HW, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, proj_in_(be, h));                               // [N, HW, C]
  for (const transformer_block& block : blocks_) {
    CROWDIFF_ASSIGN_OR_RETURN(h, block(be, h, context));  // [N, HW, C]
  }
  CROWDIFF_ASSIGN_OR_RETURN(h, proj_out_(be, h));                  // [N, HW, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, h.reshape({n, height, width, c}));  // [N, H, W, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.permute(h, {0, 3, 1, 2}));       // [N, C, H, W]
  return be.add(h, x, h);                                          // [N, C, H, W]
}

}  // namespace crowdiff::models
