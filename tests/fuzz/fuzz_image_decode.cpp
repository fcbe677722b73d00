// Source images from requesters and results from workers: PNG or WebP bytes decode within the limits or give
// an error.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "models/image/webp_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crowdiff::models::image_limits limits;
  limits.max_width = 1024;
  limits.max_height = 1024;
  limits.max_pixels = 1024 * 1024;
  auto image =
      crowdiff::models::decode_image(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (image && (image->width <= 0 || image->height <= 0))
    __builtin_trap();
  return 0;
}
