#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace crowdiff::models {

/// An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B, no padding.
struct rgb_image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  ///< width * height * 3 bytes.

  bool valid() const {
    return width > 0 && height > 0 &&
           pixels.size() == static_cast<size_t>(width) * static_cast<size_t>(height) * 3;
  }
};

/// Bounds on images decoded from outside (img2img sources): an attacker-sized header must not make us
/// allocate gigabytes.
struct image_limits {
  int max_width = 8192;
  int max_height = 8192;
  size_t max_pixels = size_t{4096} * 4096;
  size_t max_encoded_bytes = size_t{64} << 20;
};

}  // namespace crowdiff::models
