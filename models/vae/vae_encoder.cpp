#include "models/vae/vae_encoder.hpp"

#include <algorithm>
#include <string>

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

namespace {
constexpr float vae_eps = 1e-6f;
}  // namespace

result<vae_encoder> vae_encoder::load(weight_loader& loader, const vae_config& config) {
  const auto& channels = config.block_out_channels;
  if (channels.empty() || config.layers_per_block < 1)
    return status{errc::unsupported, "vae: inconsistent configuration"};
  const int64_t groups = config.norm_groups;
  const int64_t moments = 2 * int64_t{config.latent_channels};
  const auto same = kernels::conv2d_options::symmetric(1, 1);
  const std::string p = "vae.encoder.";
  vae_encoder model;
  model.image_channels_ = config.in_channels;
  model.latent_channels_ = config.latent_channels;
  int64_t ch = channels[0];
  CROWDIFF_ASSIGN_OR_RETURN(model.conv_in_,
                            conv_layer::load(loader, p + "conv_in.", config.in_channels, ch, 3, same));
  for (size_t i = 0; i < channels.size(); ++i) {
    const std::string prefix = p + "down_blocks." + std::to_string(i) + ".";
    level lv;
    for (int j = 0; j < config.layers_per_block; ++j) {
      CROWDIFF_ASSIGN_OR_RETURN(resnet_block block,
                                resnet_block::load(loader, prefix + "resnets." + std::to_string(j) + ".", ch,
                                                   channels[i], 0, groups, vae_eps));
      lv.resnets.push_back(std::move(block));
      ch = channels[i];
    }
    if (i + 1 < channels.size()) {
      // diffusers' Downsample2D with padding 0 pads (0, 1, 0, 1) before the stride-2 conv.
      const kernels::conv2d_options down{2, 0, 1, 0, 1};
      CROWDIFF_ASSIGN_OR_RETURN(lv.downsample,
                                conv_layer::load(loader, prefix + "downsamplers.0.conv.", ch, ch, 3, down));
    }
    model.levels_.push_back(std::move(lv));
  }
  CROWDIFF_ASSIGN_OR_RETURN(model.mid_resnet_0_, resnet_block::load(loader, p + "mid_block.resnets.0.", ch,
                                                                    ch, 0, groups, vae_eps));
  CROWDIFF_ASSIGN_OR_RETURN(model.mid_attention_,
                            vae_attention::load(loader, p + "mid_block.attentions.0.", ch, groups));
  CROWDIFF_ASSIGN_OR_RETURN(model.mid_resnet_1_, resnet_block::load(loader, p + "mid_block.resnets.1.", ch,
                                                                    ch, 0, groups, vae_eps));
  CROWDIFF_ASSIGN_OR_RETURN(model.norm_out_,
                            group_norm_layer::load(loader, p + "conv_norm_out.", ch, groups, vae_eps));
  CROWDIFF_ASSIGN_OR_RETURN(model.conv_out_, conv_layer::load(loader, p + "conv_out.", ch, moments, 3, same));
  CROWDIFF_ASSIGN_OR_RETURN(model.quant_conv_,
                            conv_layer::load(loader, "vae.quant_conv.", moments, moments, 1, {}));
  return model;
}

result<vae_posterior> vae_encoder::operator()(kernels::backend& be, const kernels::tensor& image) const {
  if (image.rank() != 4 || image.size(1) != image_channels_ || image.size(2) % downscale_factor() != 0 ||
      image.size(3) % downscale_factor() != 0)
    return status{errc::invalid_argument, "vae encoder: image " + image.to_string() + " is not [N, " +
                                              std::to_string(image_channels_) +
                                              ", H, W] with H and W divisible by " +
                                              std::to_string(downscale_factor())};
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor h, conv_in_(be, image));  // [N, C0, H, W]
  for (const level& lv : levels_) {
    for (const resnet_block& block : lv.resnets) {
      CROWDIFF_ASSIGN_OR_RETURN(h, block(be, h));  // [N, C_i, H_i, W_i]
    }
    if (lv.downsample) {
      CROWDIFF_ASSIGN_OR_RETURN(h, (*lv.downsample)(be, h));  // [N, C_i, H_i / 2, W_i / 2]
    }
  }
  CROWDIFF_ASSIGN_OR_RETURN(h, mid_resnet_0_(be, h));             // [N, C_last, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(h, mid_attention_(be, h));            // [N, C_last, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(h, mid_resnet_1_(be, h));             // [N, C_last, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(h, norm_out_(be, h, /*silu=*/true));  // [N, C_last, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(h, conv_out_(be, h));                 // [N, 2L, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(h, quant_conv_(be, h));               // [N, 2L, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor moments,
                            kernels::tensor::host(h.shape(), kernels::dtype::f32));  // [N, 2L, h, w]
  CROWDIFF_RETURN_IF_ERROR(be.download(h, moments));
  const int64_t n = h.size(0), plane = h.size(2) * h.size(3), half = latent_channels_ * plane;
  const kernels::shape latent{n, latent_channels_, h.size(2), h.size(3)};
  vae_posterior posterior;
  CROWDIFF_ASSIGN_OR_RETURN(posterior.mean,
                            kernels::tensor::host(latent, kernels::dtype::f32));  // [N, L, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(posterior.logvar,
                            kernels::tensor::host(latent, kernels::dtype::f32));  // [N, L, h, w]
  const float* src = moments.data_as<float>();
  float* mean = posterior.mean.mutable_data_as<float>();
  float* logvar = posterior.logvar.mutable_data_as<float>();
  for (int64_t b = 0; b < n; ++b) {
    std::copy_n(src + b * 2 * half, half, mean + b * half);
    for (int64_t i = 0; i < half; ++i)
      logvar[b * half + i] = std::clamp(src[b * 2 * half + half + i], -30.0f, 20.0f);
  }
  return posterior;
}

}  // namespace crowdiff::models
