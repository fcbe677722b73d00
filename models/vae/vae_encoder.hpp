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

/// The diagonal Gaussian the VAE encoder gives for an image, on the host: [N, latent, h, w] each.
struct vae_posterior {
  kernels::tensor mean;
  kernels::tensor logvar;  ///< Clamped to [-30, 20] as diffusers does.
};

/// The encoding half of SD's AutoencoderKL: conv_in, down levels (layers_per_block resnets, a stride-2 conv
/// padded only right and bottom between levels), mid block, GroupNorm, SiLU, conv_out to 2 * latent
/// channels, quant_conv (1x1): the posterior's mean and log variance.
class vae_encoder {
 public:
  /// Loads `vae.encoder.*` and `vae.quant_conv.*`. Errors: the loader's.
  static result<vae_encoder> load(weight_loader& loader, const vae_config& config);

  /// image [N, 3, H, W] in [-1, 1] (H, W divisible by downscale_factor()) -> the posterior, downloaded to the
  /// host (img2img takes its mean).
  result<vae_posterior> operator()(kernels::backend& be, const kernels::tensor& image) const;

  /// The ratio of image to latent size: 2^(levels - 1), 8 for SD.
  int64_t downscale_factor() const { return int64_t{1} << (levels_.size() - 1); }

 private:
  struct level {
    std::vector<resnet_block> resnets;
    std::optional<conv_layer> downsample;
  };

  int64_t image_channels_ = 3;
  int64_t latent_channels_ = 4;
  conv_layer conv_in_, conv_out_, quant_conv_;
  std::vector<level> levels_;
  resnet_block mid_resnet_0_, mid_resnet_1_;
  vae_attention mid_attention_;
  group_norm_layer norm_out_;
};

}  // namespace crowdiff::models
