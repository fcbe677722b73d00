#pragma once

// The one policy for text that comes from outside (HTTP paths, headers and bodies, node messages, stored
// records): it is checked as UTF-8 before it reaches the store, a log line or a JSON writer, and it is cut
// only between characters.

#include <cstddef>
#include <string>
#include <string_view>

namespace crowdiff {

/// True when `text` is well-formed UTF-8: no stray continuation bytes, no overlong forms, no surrogates,
/// nothing past U+10FFFF.
bool valid_utf8(std::string_view text);

/// `text` with every byte that does not belong to a well-formed character replaced by U+FFFD: for text that
/// must be kept even when it is not UTF-8 (a remote worker's error message, say).
std::string to_valid_utf8(std::string_view text);

/// The longest prefix of `text` of at most `max_bytes` bytes that does not end inside a character. `text`
/// must be valid UTF-8 for the result to be.
std::string_view truncate_utf8(std::string_view text, size_t max_bytes);

}  // namespace crowdiff
