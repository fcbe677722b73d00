#include "models/unet/unet_model.hpp"

#include <string>

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

namespace {

constexpr float resnet_eps = 1e-5f;

std::string at(const std::string& prefix, size_t index) {
  return prefix + std::to_string(index) + ".";
}

}  // namespace

result<unet_model> unet_model::load(weight_loader& loader, const unet_config& config) {
  CROWDIFF_RETURN_IF_ERROR(validate(config));
  const size_t levels = config.block_out_channels.size();
  unet_model model;
  model.config_ = config;
  const auto& channels = config.block_out_channels;
  const int64_t groups = config.norm_groups;
  const int64_t context = config.cross_attention_dim;
  const int64_t time_channels = 4 * int64_t{channels[0]};
  const auto same = kernels::conv2d_options::symmetric(1, 1);
  const std::string p = "unet.";

  CROWDIFF_ASSIGN_OR_RETURN(model.time_embedding_, timestep_embedding::load(loader, p + "time_embedding.",
                                                                            channels[0], time_channels));
  CROWDIFF_ASSIGN_OR_RETURN(
      model.conv_in_, conv_layer::load(loader, p + "conv_in.", config.in_channels, channels[0], 3, same));

  const auto transformer = [&](const std::string& prefix, int64_t width, int64_t heads) {
    return spatial_transformer::load(loader, prefix, width, heads, config.transformer_layers, context, groups,
                                     config.use_linear_projection);
  };

  // The down path, recording the channels of every skip connection the up path will take back.
  std::vector<int64_t> skips{channels[0]};
  int64_t ch = channels[0];
  for (size_t i = 0; i < levels; ++i) {
    const std::string prefix = at(p + "down_blocks.", i);
    level lv;
    for (int j = 0; j < config.layers_per_block; ++j) {
      const auto k = static_cast<size_t>(j);
      CROWDIFF_ASSIGN_OR_RETURN(resnet_block block,
                                resnet_block::load(loader, at(prefix + "resnets.", k), ch, channels[i],
                                                   time_channels, groups, resnet_eps));
      lv.resnets.push_back(std::move(block));
      ch = channels[i];
      if (config.down_block_attention[i]) {
        CROWDIFF_ASSIGN_OR_RETURN(spatial_transformer attention,
                                  transformer(at(prefix + "attentions.", k), ch, config.attention_heads[i]));
        lv.attentions.push_back(std::move(attention));
      }
      skips.push_back(ch);
    }
    if (i + 1 < levels) {
      CROWDIFF_ASSIGN_OR_RETURN(lv.resample, conv_layer::load(loader, prefix + "downsamplers.0.conv.", ch, ch,
                                                              3, kernels::conv2d_options::symmetric(2, 1)));
      skips.push_back(ch);
    }
    model.levels_.push_back(std::move(lv));
  }

  const std::string mid = p + "mid_block.";
  CROWDIFF_ASSIGN_OR_RETURN(model.mid_resnet_0_, resnet_block::load(loader, mid + "resnets.0.", ch, ch,
                                                                    time_channels, groups, resnet_eps));
  CROWDIFF_ASSIGN_OR_RETURN(model.mid_attention_,
                            transformer(mid + "attentions.0.", ch, config.attention_heads.back()));
  CROWDIFF_ASSIGN_OR_RETURN(model.mid_resnet_1_, resnet_block::load(loader, mid + "resnets.1.", ch, ch,
                                                                    time_channels, groups, resnet_eps));

  // The up path mirrors the down path: up block i serves level levels-1-i, one resnet more than going down.
  for (size_t i = 0; i < levels; ++i) {
    const size_t source = levels - 1 - i;
    const std::string prefix = at(p + "up_blocks.", i);
    level lv;
    for (int j = 0; j <= config.layers_per_block; ++j) {
      const auto k = static_cast<size_t>(j);
      const int64_t skip = skips.back();
      skips.pop_back();
      CROWDIFF_ASSIGN_OR_RETURN(resnet_block block,
                                resnet_block::load(loader, at(prefix + "resnets.", k), ch + skip,
                                                   channels[source], time_channels, groups, resnet_eps));
      lv.resnets.push_back(std::move(block));
      ch = channels[source];
      if (config.down_block_attention[source]) {
        CROWDIFF_ASSIGN_OR_RETURN(
            spatial_transformer attention,
            transformer(at(prefix + "attentions.", k), ch, config.attention_heads[source]));
        lv.attentions.push_back(std::move(attention));
      }
    }
    if (i + 1 < levels) {
      CROWDIFF_ASSIGN_OR_RETURN(lv.resample,
                                conv_layer::load(loader, prefix + "upsamplers.0.conv.", ch, ch, 3, same));
    }
    model.up_levels_.push_back(std::move(lv));
  }

  CROWDIFF_ASSIGN_OR_RETURN(model.norm_out_,
                            group_norm_layer::load(loader, p + "conv_norm_out.", ch, groups, resnet_eps));
  CROWDIFF_ASSIGN_OR_RETURN(model.conv_out_,
                            conv_layer::load(loader, p + "conv_out.", ch, config.out_channels, 3, same));
  return model;
}

result<kernels::tensor> unet_model::operator()(kernels::backend& be, const kernels::tensor& x,
                                               std::span<const double> timesteps,
                                               const kernels::tensor& context) const {
  if (x.rank() != 4 || x.size(1) != config_.in_channels)
    return status{errc::invalid_argument, "unet: input " + x.to_string() + " is not [N, " +
                                              std::to_string(config_.in_channels) + ", h, w]"};
  const int64_t n = x.size(0);
  if (x.size(2) < 1 || x.size(3) < 1)
    return status{errc::invalid_argument, "unet: latent " + x.to_string() + " is empty"};
  if (timesteps.size() != 1 && timesteps.size() != static_cast<size_t>(n))
    return status{errc::invalid_argument, "unet: " + std::to_string(timesteps.size()) +
                                              " timesteps for a batch of " + std::to_string(n)};
  if (context.rank() != 3 || context.size(0) != n || context.size(2) != config_.cross_attention_dim)
    return status{errc::invalid_argument, "unet: context " + context.to_string() + " is not [" +
                                              std::to_string(n) + ", L, " +
                                              std::to_string(config_.cross_attention_dim) + "]"};
  std::vector<double> t(timesteps.begin(), timesteps.end());
  t.resize(static_cast<size_t>(n), timesteps[0]);

  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor temb, time_embedding_(be, t));  // [N, 4*C0], after SiLU
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor h, conv_in_(be, x));            // [N, C0, h, w]
  std::vector<kernels::tensor> skips{h};
  for (const level& lv : levels_) {
    for (size_t j = 0; j < lv.resnets.size(); ++j) {
      CROWDIFF_ASSIGN_OR_RETURN(h, lv.resnets[j](be, h, temb));  // [N, C_i, h_i, w_i]
      if (!lv.attentions.empty()) {
        CROWDIFF_ASSIGN_OR_RETURN(h, lv.attentions[j](be, h, context));  // [N, C_i, h_i, w_i]
      }
      skips.push_back(h);
    }
    if (lv.resample) {
      CROWDIFF_ASSIGN_OR_RETURN(h, (*lv.resample)(be, h));  // [N, C_i, h_i / 2, w_i / 2]
      skips.push_back(h);
    }
  }

  CROWDIFF_ASSIGN_OR_RETURN(h, mid_resnet_0_(be, h, temb));      // [N, C_last, h_min, w_min]
  CROWDIFF_ASSIGN_OR_RETURN(h, mid_attention_(be, h, context));  // [N, C_last, h_min, w_min]
  CROWDIFF_ASSIGN_OR_RETURN(h, mid_resnet_1_(be, h, temb));      // [N, C_last, h_min, w_min]

  for (const level& lv : up_levels_) {
    for (size_t j = 0; j < lv.resnets.size(); ++j) {
      CROWDIFF_ASSIGN_OR_RETURN(h, be.concat({h, skips.back()}, 1));  // [N, C + C_skip, h_i, w_i]
      skips.pop_back();
      CROWDIFF_ASSIGN_OR_RETURN(h, lv.resnets[j](be, h, temb));  // [N, C_i, h_i, w_i]
      if (!lv.attentions.empty()) {
        CROWDIFF_ASSIGN_OR_RETURN(h, lv.attentions[j](be, h, context));  // [N, C_i, h_i, w_i]
      }
    }
    if (lv.resample) {
      CROWDIFF_ASSIGN_OR_RETURN(h, be.upsample_nearest(h, 2));  // [N, C_i, 2 h_i, 2 w_i]
      // A side the downsampler took from odd s to (s + 1) / 2 comes back one too long: drop the last row or
      // column. That is exactly diffusers' interpolate(size=skip) (nearest index floor(i * n / (2n - 1))
      // equals floor(i / 2) for every i < 2n - 1).
      const kernels::tensor& skip = skips.back();
      if (h.size(2) != skip.size(2)) {
        CROWDIFF_ASSIGN_OR_RETURN(h, be.slice(h, 2, 0, skip.size(2)));  // [N, C_i, skip h, 2 w_i]
      }
      if (h.size(3) != skip.size(3)) {
        CROWDIFF_ASSIGN_OR_RETURN(h, be.slice(h, 3, 0, skip.size(3)));  // [N, C_i, skip h, skip w]
      }
      CROWDIFF_ASSIGN_OR_RETURN(h, (*lv.resample)(be, h));  // [N, C_i, skip h, skip w]
    }
  }

  CROWDIFF_ASSIGN_OR_RETURN(h, norm_out_(be, h, /*silu=*/true));  // [N, C0, h, w]
  return conv_out_(be, h);                                        // [N, out, h, w]
}

}  // namespace crowdiff::models
