// Source images from requesters and results from workers: PNG or WebP bytes decode within the limits or give
// an error, and the result check (the job's size, not flat) answers without crashing either way.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "actors/scheduler/result_check.hpp"
#include "models/image/webp_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  crowdiff::models::image_limits limits;
  limits.max_width = 1024;
  limits.max_height = 1024;
  limits.max_pixels = 1024 * 1024;
  auto image = crowdiff::models::decode_image(bytes, limits);
  if (image && (image->width <= 0 || image->height <= 0))
    __builtin_trap();
  // As a worker's result for a job of the size it decoded to (so the flat check runs), or 2x2 otherwise.
  uint32_t w = image ? static_cast<uint32_t>(image->width) : 2;
  uint32_t h = image ? static_cast<uint32_t>(image->height) : 2;
  auto checked = crowdiff::scheduling::check_result(bytes, w, h);
  if (checked && !image)
    __builtin_trap();  // the check accepted what the decoder refused
  return 0;
}
