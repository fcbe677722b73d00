#pragma once

#include <span>
#include <vector>

#include "common/status.hpp"
#include "models/image/rgb_image.hpp"
#include "models/pipeline/stable_diffusion.hpp"

namespace crowdiff::models {

/// The VAE image of a sampler's latent (one image, [C, h, w] flat, in the sampler's scale): decoded from
/// latent / scaling_factor, then (x + 1) / 2 clamped to [0, 1] and rounded to 8 bits (diffusers' rule).
/// Errors: the backend's; invalid_argument for a latent of the wrong size.
result<rgb_image> decode_latent(const stable_diffusion& model, std::span<const float> latent, int64_t height,
                                int64_t width);

/// The sampler-scale latent of an image (img2img's source): RGB8 to [-1, 1], the VAE encoder's posterior
/// mean times the scaling factor, [C, h, w] flat. Errors: failed_precondition when the model was loaded
/// without its encoder, invalid_argument for sides not divisible by the VAE's factor, the backend's.
result<std::vector<float>> encode_image(const stable_diffusion& model, const rgb_image& image);

}  // namespace crowdiff::models
