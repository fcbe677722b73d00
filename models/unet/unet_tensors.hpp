#pragma once

#include <vector>

#include "common/status.hpp"
#include "models/weights/model_config.hpp"
#include "models/weights/tensor_view.hpp"

namespace crowdiff::models {

/// SD 1.x's UNet as diffusers' Stable Diffusion 1.5 configuration describes it: 4 latent channels in and
/// out, levels of 320, 640, 1280 and 1280 channels (cross-attention on the first three), 2 resnets per
/// level, one transformer layer of 8 heads per attention, 768-wide text context, 1x1 convolution
/// projections, 32 norm groups. For benchmarks and tests that need the real architecture without its
/// weights.
unet_config sd1_unet_config();

/// Every tensor unet_model::load reads for `config`, by canonical name (`unet.down_blocks.0.resnets.0.
/// conv1.weight`) with the shape it asks for, in load order: the layout of diffusers'
/// UNet2DConditionModel. Errors: unsupported for the configurations unet_model::load refuses (levels,
/// attention flags and head counts of different lengths; no resnet or transformer layer per block).
result<std::vector<tensor_spec>> unet_tensor_specs(const unet_config& config);

}  // namespace crowdiff::models
