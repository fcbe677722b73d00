#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "models/image/rgb_image.hpp"

namespace crowdiff::models {

struct webp_options {
  float quality = 95.0f;  ///< 0-100, lossy only.
  bool lossless = false;
  /// Written as EXIF UserComment (UNICODE, UTF-16BE, as A1111 does through piexif) when not empty.
  std::string user_comment;
};

/// Encodes `image` as WebP, with an EXIF chunk carrying `options.user_comment` (the A1111 parameters) when
/// given. Errors: invalid_argument for an invalid image or one over WebP's 16383-pixel side, internal when
/// libwebp fails.
result<std::vector<uint8_t>> encode_webp(const rgb_image& image, const webp_options& options = {});

/// Decodes a WebP (lossy or lossless, still image) to 8-bit RGB; alpha is dropped. Errors: corruption (not
/// a WebP, damaged), resource_exhausted (over `limits`).
result<rgb_image> decode_webp(std::string_view bytes, const image_limits& limits = {});

/// The EXIF UserComment text of a WebP written by encode_webp or A1111, or empty when it has none.
/// Errors: corruption.
result<std::string> read_webp_user_comment(std::string_view bytes);

/// Decodes PNG or WebP, chosen by the signature. Errors: unsupported for other formats, otherwise those of
/// the decoder.
result<rgb_image> decode_image(std::string_view bytes, const image_limits& limits = {});

}  // namespace crowdiff::models
