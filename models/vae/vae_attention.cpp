#include "models/vae/vae_attention.hpp"

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

result<vae_attention> vae_attention::load(weight_loader& loader, const std::string& prefix, int64_t channels,
                                          int64_t groups) {
  vae_attention module;
  CROWDIFF_ASSIGN_OR_RETURN(module.norm_,
                            group_norm_layer::load(loader, prefix + "group_norm.", channels, groups, 1e-6f));
  CROWDIFF_ASSIGN_OR_RETURN(module.attention_,
                            attention_layer::load(loader, prefix, channels, channels, 1, channels, true));
  return module;
}

result<kernels::tensor> vae_attention::operator()(kernels::backend& be, const kernels::tensor& x) const {
  const int64_t n = x.size(0), c = x.size(1), height = x.size(2), width = x.size(3);
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor h, norm_(be, x, /*silu=*/false));  // [N, C, H, W]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.permute(h, {0, 2, 3, 1}));                   // [N, H, W, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, h.reshape({n, height * width, c}));             // [N, HW, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, attention_(be, h));                             // [N, HW, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, h.reshape({n, height, width, c}));              // [N, H, W, C]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.permute(h, {0, 3, 1, 2}));                   // [N, C, H, W]
  return be.add(h, x, h);                                                      // [N, C, H, W]
}

}  // namespace crowdiff::models
