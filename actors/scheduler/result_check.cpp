#include "actors/scheduler/result_check.hpp"

#include <algorithm>
#include <array>

#include "models/image/image_format.hpp"
#include "models/image/png_codec.hpp"
#include "models/image/webp_codec.hpp"

namespace crowdiff::scheduling {
namespace {

status rejected(const std::string& why) {
  return status{errc::invalid_argument, "the image was rejected: " + why};
}

bool flat(const models::rgb_image& image) {
  std::array<uint8_t, 3> lo{255, 255, 255};
  std::array<uint8_t, 3> hi{0, 0, 0};
  const auto& p = image.pixels;
  for (size_t i = 0; i + 2 < p.size(); i += 3) {
    for (size_t c = 0; c < 3; ++c) {
      lo[c] = std::min(lo[c], p[i + c]);
      hi[c] = std::max(hi[c], p[i + c]);
      if (hi[c] - lo[c] > flat_image_levels)
        return false;
    }
  }
  return true;
}

}  // namespace

result<std::string> check_result(std::string_view image, uint32_t width, uint32_t height) {
  if (image.empty())
    return rejected("it is empty");
  if (image.size() > max_result_bytes)
    return rejected("it is larger than " + std::to_string(max_result_bytes >> 20) + " MiB");
  if (width == 0 || height == 0)
    return rejected("the job has no size");
  std::string format{models::image_format(image)};
  if (format.empty())
    return rejected("it is neither PNG nor WebP");
  // The job's size bounds the decoder: a larger header is refused before any allocation.
  models::image_limits limits;
  limits.max_width = static_cast<int>(width);
  limits.max_height = static_cast<int>(height);
  limits.max_pixels = static_cast<size_t>(width) * height;
  limits.max_encoded_bytes = max_result_bytes;
  auto decoded = format == "png" ? models::decode_png(image, limits) : models::decode_webp(image, limits);
  if (!decoded) {
    if (decoded.error().code() == errc::resource_exhausted)
      return rejected("it is larger than the job's " + std::to_string(width) + "x" + std::to_string(height));
    return rejected("it does not decode as " + format + " (" + decoded.error().message() + ")");
  }
  if (decoded->width != static_cast<int>(width) || decoded->height != static_cast<int>(height))
    return rejected("it is " + std::to_string(decoded->width) + "x" + std::to_string(decoded->height) +
                    ", the job asked for " + std::to_string(width) + "x" + std::to_string(height));
  if (flat(*decoded))
    return rejected("it is one flat colour");
  return format;
}

}  // namespace crowdiff::scheduling
