#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/layers.hpp"
#include "models/nn/resnet_block.hpp"
#include "models/vae/vae_attention.hpp"
#include "models/weights/model_config.hpp"

namespace crowdiff::models {

/// The decoding half of SD's AutoencoderKL: post_quant_conv (1x1), conv_in, mid block (resnet, attention,
/// resnet), up levels from the lowest resolution (layers_per_block + 1 resnets, nearest x2 + conv between
/// levels), GroupNorm, SiLU, conv_out to RGB. GroupNorm eps 1e-6 throughout, as diffusers builds the VAE.
class vae_decoder {
 public:
  /// Loads `vae.post_quant_conv.*` and `vae.decoder.*`. Errors: the loader's.
  static result<vae_decoder> load(weight_loader& loader, const vae_config& config);

  /// z [N, latent, h, w] (the sampler's latent divided by the scaling factor) -> image [N, 3, h*f, w*f] in
  /// roughly [-1, 1], f = upscale_factor().
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& z) const;

  /// The ratio of image to latent size: 2^(levels - 1), 8 for SD.
  int64_t upscale_factor() const { return int64_t{1} << (up_levels_.size() - 1); }

 private:
  struct level {
    std::vector<resnet_block> resnets;
    std::optional<conv_layer> upsample;
  };

  int64_t latent_channels_ = 4;
  conv_layer post_quant_conv_, conv_in_, conv_out_;
  resnet_block mid_resnet_0_, mid_resnet_1_;
  vae_attention mid_attention_;
  std::vector<level> up_levels_;
  group_norm_layer norm_out_;
};

}  // namespace crowdiff::models
