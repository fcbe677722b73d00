#pragma once

#include "models/image/rgb_image.hpp"

namespace crowdiff::models {

/// `image` resampled to width x height with a triangle (bilinear) filter whose support widens with the
/// downscaling factor, as PIL's Image.resize(BILINEAR) does, so that shrinking averages rather than skips
/// pixels. img2img sources of another size than the request are brought to it this way. Both sizes must be
/// positive (asserted: callers validate).
rgb_image resize_bilinear(const rgb_image& image, int width, int height);

}  // namespace crowdiff::models
