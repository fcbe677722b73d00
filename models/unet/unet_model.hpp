#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/layers.hpp"
#include "models/nn/resnet_block.hpp"
#include "models/unet/spatial_transformer.hpp"
#include "models/unet/timestep_embedding.hpp"
#include "models/weights/model_config.hpp"

namespace crowdiff::models {

/// Stable Diffusion's UNet2DConditionModel (SD 1.x and 2.x), built from `unet_config` and the checkpoint's
/// `unet.*` tensors:
///   conv_in -> down levels (resnets [+ spatial transformers], a stride-2 conv between levels) -> mid
///   (resnet, transformer, resnet) -> up levels (each resnet takes the matching skip concatenated on
///   channels [+ transformer], nearest x2 + conv between levels) -> GroupNorm, SiLU, conv_out.
/// It predicts what the checkpoint was trained to (epsilon or v); the pipeline converts.
class unet_model {
 public:
  /// Loads every UNet tensor onto `loader`'s backend. Errors: the loader's (a missing or mis-shaped tensor,
  /// named), unsupported for configurations outside SD 1.x/2.x (channels not divisible by heads or groups).
  static result<unet_model> load(weight_loader& loader, const unet_config& config);

  /// x [N, in, h, w] (any h and w; sides divisible by native_multiple() need no cropping), timesteps: one per
  /// batch row or one for all (fractional allowed), context [N, Lc, cross_attention_dim] -> [N, out, h, w].
  result<kernels::tensor> operator()(kernels::backend& be, const kernels::tensor& x,
                                     std::span<const double> timesteps, const kernels::tensor& context) const;

  /// The factor by which h and w are divided at the bottom of the UNet: other sides are upsampled to their
  /// skip's size on the way up (as diffusers does), at the cost of a crop.
  int64_t native_multiple() const { return int64_t{1} << (levels_.size() - 1); }

 private:
  struct level {
    std::vector<resnet_block> resnets;
    std::vector<spatial_transformer> attentions;  // empty, or one per resnet
    std::optional<conv_layer> resample;           // the downsampler (down path) or upsampler's conv (up path)
  };

  unet_config config_;
  conv_layer conv_in_, conv_out_;
  group_norm_layer norm_out_;
  timestep_embedding time_embedding_;
  std::vector<level> levels_;     // down path
  std::vector<level> up_levels_;  // up path, lowest resolution first
  resnet_block mid_resnet_0_, mid_resnet_1_;
  spatial_transformer mid_attention_;
};

}  // namespace crowdiff::models
