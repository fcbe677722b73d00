#pragma once

// Real images for test doubles: results are decoded and checked (actors/scheduler/result_check), so a fake
// worker must send a PNG of the job's size that is not one flat colour.

#include <cstdint>
#include <string>

#include "models/image/png_codec.hpp"

namespace crowdiff::testing {

/// A width x height RGB PNG: a gradient tinted by `seed`, so each seed gives a different image.
inline std::string test_png(uint32_t width, uint32_t height, uint64_t seed = 0) {
  models::rgb_image img;
  img.width = static_cast<int>(width);
  img.height = static_cast<int>(height);
  img.pixels.resize(static_cast<size_t>(width) * height * 3);
  auto tint = static_cast<uint8_t>(seed * 67 % 256);
  for (uint32_t y = 0; y < height; ++y)
    for (uint32_t x = 0; x < width; ++x) {
      auto* p = &img.pixels[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<uint8_t>(tint + x);
      p[1] = static_cast<uint8_t>(y);
      p[2] = static_cast<uint8_t>(seed * 29 % 256);
    }
  auto png = models::encode_png(img);
  return png ? std::string(png->begin(), png->end()) : std::string{};
}

}  // namespace crowdiff::testing
