#include "models/nn/resnet_block.hpp"

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

result<resnet_block> resnet_block::load(weight_loader& loader, const std::string& prefix, int64_t in,
                                        int64_t out, int64_t time_channels, int64_t groups, float eps) {
  const auto same = kernels::conv2d_options::symmetric(1, 1);
  resnet_block block;
  block.out_ = out;
  CROWDIFF_ASSIGN_OR_RETURN(block.norm1_, group_norm_layer::load(loader, prefix + "norm1.", in, groups, eps));
  CROWDIFF_ASSIGN_OR_RETURN(block.conv1_, conv_layer::load(loader, prefix + "conv1.", in, out, 3, same));
  if (time_channels > 0) {
    CROWDIFF_ASSIGN_OR_RETURN(block.time_emb_proj_,
                              linear_layer::load(loader, prefix + "time_emb_proj.", time_channels, out));
  }
  CROWDIFF_ASSIGN_OR_RETURN(block.norm2_,
                            group_norm_layer::load(loader, prefix + "norm2.", out, groups, eps));
  CROWDIFF_ASSIGN_OR_RETURN(block.conv2_, conv_layer::load(loader, prefix + "conv2.", out, out, 3, same));
  if (in != out) {
    CROWDIFF_ASSIGN_OR_RETURN(block.shortcut_,
                              conv_layer::load(loader, prefix + "conv_shortcut.", in, out, 1, {}));
  }
  return block;
}

result<kernels::tensor> resnet_block::operator()(kernels::backend& be, const kernels::tensor& x,
                                                 const kernels::tensor& temb_act) const {
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor h, norm1_(be, x, /*silu=*/true));  // [N, in, H, W]
  CROWDIFF_ASSIGN_OR_RETURN(h, conv1_(be, h));                                 // [N, out, H, W]
  if (time_emb_proj_) {
    if (!temb_act.defined())
      return status{errc::invalid_argument, "resnet_block: a UNet resnet needs the time embedding"};
    CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor t, (*time_emb_proj_)(be, temb_act));  // [N, out]
    CROWDIFF_ASSIGN_OR_RETURN(t, t.reshape({t.size(0), out_, 1, 1}));               // [N, out, 1, 1]
    CROWDIFF_ASSIGN_OR_RETURN(h, be.add(h, t, h));                                  // [N, out, H, W]
  }
  CROWDIFF_ASSIGN_OR_RETURN(h, norm2_(be, h, /*silu=*/true));  // [N, out, H, W]
  CROWDIFF_ASSIGN_OR_RETURN(h, conv2_(be, h));                 // [N, out, H, W]
  if (shortcut_) {
    CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor skip, (*shortcut_)(be, x));  // [N, out, H, W]
    return be.add(h, skip, h);                                             // [N, out, H, W]
  }
  return be.add(h, x, h);  // [N, out, H, W]
}

}  // namespace crowdiff::models
