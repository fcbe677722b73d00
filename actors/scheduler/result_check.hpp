#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace crowdiff::scheduling {

/// The most bytes a worker's image may have (a 2048x2048 PNG of noise is about 12 MiB).
inline constexpr size_t max_result_bytes = size_t{64} << 20;

/// A flat image: every channel of every pixel within this many levels of one colour. Lossy WebP of a flat
/// colour ripples by a level or two; a real picture spans far more.
inline constexpr int flat_image_levels = 4;

/// Checks a worker's image before anyone is paid for it: it decodes as PNG or WebP (by its signature), it
/// is exactly `width` x `height` (the job's size), and it is not one flat colour (what a worker that did no
/// work sends). Bounded: a header that claims more pixels than the job's is refused before anything is
/// allocated. Pure; safe on any thread.
/// Returns the format, "png" or "webp". Errors: invalid_argument, with the reason; a failure is the
/// worker's fault.
result<std::string> check_result(std::string_view image, uint32_t width, uint32_t height);

}  // namespace crowdiff::scheduling
