#include "models/vae/vae_decoder.hpp"

#include <string>

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

namespace {
constexpr float vae_eps = 1e-6f;
}  // namespace

result<vae_decoder> vae_decoder::load(weight_loader& loader, const vae_config& config) {
  const auto& channels = config.block_out_channels;
  if (channels.empty() || config.layers_per_block < 1)
    return status{errc::unsupported, "vae: inconsistent configuration"};
  const int64_t groups = config.norm_groups;
  const int64_t latent = config.latent_channels;
  const auto same = kernels::conv2d_options::symmetric(1, 1);
  const std::string p = "vae.decoder.";
  vae_decoder model;
  model.latent_channels_ = latent;
  CROWDIFF_ASSIGN_OR_RETURN(model.post_quant_conv_,
                            conv_layer::load(loader, "vae.post_quant_conv.", latent, latent, 1, {}));
  int64_t ch = channels.back();
  CROWDIFF_ASSIGN_OR_RETURN(model.conv_in_, conv_layer::load(loader, p + "conv_in.", latent, ch, 3, same));
  CROWDIFF_ASSIGN_OR_RETURN(model.mid_resnet_0_, resnet_block::load(loader, p + "mid_block.resnets.0.", ch,
                                                                    ch, 0, groups, vae_eps));
  CROWDIFF_ASSIGN_OR_RETURN(model.mid_attention_,
                            vae_attention::load(loader, p + "mid_block.attentions.0.", ch, groups));
  CROWDIFF_ASSIGN_OR_RETURN(model.mid_resnet_1_, resnet_block::load(loader, p + "mid_block.resnets.1.", ch,
                                                                    ch, 0, groups, vae_eps));
  for (size_t i = 0; i < channels.size(); ++i) {
    const int64_t out = channels[channels.size() - 1 - i];
    const std::string prefix = p + "up_blocks." + std::to_string(i) + ".";
    level lv;
    for (int j = 0; j <= config.layers_per_block; ++j) {
      CROWDIFF_ASSIGN_OR_RETURN(resnet_block block,
                                resnet_block::load(loader, prefix + "resnets." + std::to_string(j) + ".", ch,
                                                   out, 0, groups, vae_eps));
      lv.resnets.push_back(std::move(block));
      ch = out;
    }
    if (i + 1 < channels.size()) {
      CROWDIFF_ASSIGN_OR_RETURN(lv.upsample,
                                conv_layer::load(loader, prefix + "upsamplers.0.conv.", ch, ch, 3, same));
    }
    model.up_levels_.push_back(std::move(lv));
  }
  CROWDIFF_ASSIGN_OR_RETURN(model.norm_out_,
                            group_norm_layer::load(loader, p + "conv_norm_out.", ch, groups, vae_eps));
  CROWDIFF_ASSIGN_OR_RETURN(model.conv_out_,
                            conv_layer::load(loader, p + "conv_out.", ch, config.in_channels, 3, same));
  return model;
}

result<kernels::tensor> vae_decoder::operator()(kernels::backend& be, const kernels::tensor& z) const {
  if (z.rank() != 4 || z.size(1) != latent_channels_)
    return status{errc::invalid_argument, "vae decoder: latent " + z.to_string() + " is not [N, " +
                                              std::to_string(latent_channels_) + ", h, w]"};
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor h, post_quant_conv_(be, z));  // [N, 4, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(h, conv_in_(be, h));                          // [N, C_last, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(h, mid_resnet_0_(be, h));                     // [N, C_last, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(h, mid_attention_(be, h));                    // [N, C_last, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(h, mid_resnet_1_(be, h));                     // [N, C_last, h, w]
  for (const level& lv : up_levels_) {
    for (const resnet_block& block : lv.resnets) {
      CROWDIFF_ASSIGN_OR_RETURN(h, block(be, h));  // [N, C_i, h_i, w_i]
    }
    if (lv.upsample) {
      CROWDIFF_ASSIGN_OR_RETURN(h, be.upsample_nearest(h, 2));  // [N, C_i, 2 h_i, 2 w_i]
      CROWDIFF_ASSIGN_OR_RETURN(h, (*lv.upsample)(be, h));      // [N, C_i, 2 h_i, 2 w_i]
    }
    // Every level works at a new resolution, so the arena's freed blocks of the last one (kept by size for
    // reuse) would never be reused here: hand them back rather than hold each level's working set at once.
    be.memory().trim();
  }
  CROWDIFF_ASSIGN_OR_RETURN(h, norm_out_(be, h, /*silu=*/true));  // [N, C0, H, W]
  return conv_out_(be, h);                                        // [N, 3, H, W]
}

}  // namespace crowdiff::models
