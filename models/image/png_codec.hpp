#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "models/image/rgb_image.hpp"

namespace crowdiff::models {

/// Encodes `image` as an 8-bit RGB PNG with uncompressed tEXt chunks (key, Latin-1 text; A1111 writes its
/// parameters under "parameters", and non-Latin-1 text goes into an iTXt chunk instead so that prompts in
/// any script survive). Errors: invalid_argument for an invalid image or a key that PNG forbids (1-79
/// Latin-1 characters), internal if libpng fails.
result<std::vector<uint8_t>> encode_png(const rgb_image& image,
                                        const std::vector<std::pair<std::string, std::string>>& text = {});

/// Decodes a PNG (any bit depth, palette, grey or alpha) to 8-bit RGB; alpha is dropped, not composited,
/// like PIL's convert("RGB"). Errors: corruption (not a PNG, truncated or damaged data),
/// resource_exhausted (over `limits`).
result<rgb_image> decode_png(std::string_view bytes, const image_limits& limits = {});

/// The text chunks (tEXt, zTXt and iTXt) of a PNG, in file order. Errors: corruption.
result<std::vector<std::pair<std::string, std::string>>> read_png_text(std::string_view bytes);

}  // namespace crowdiff::models
