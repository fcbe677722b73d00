#pragma once

#include <string_view>

namespace crowdiff::models {

/// The format an encoded image claims by its signature: "png", "webp", or empty for anything else. Only the
/// signature: whether the rest decodes is the decoder's to say.
constexpr std::string_view image_format(std::string_view bytes) {
  if (bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8))
    return "png";
  if (bytes.size() >= 12 && bytes.substr(0, 4) == "RIFF" && bytes.substr(8, 4) == "WEBP")
    return "webp";
  return {};
}

}  // namespace crowdiff::models
