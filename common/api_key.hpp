#pragma once

#include <string>
#include <string_view>

namespace crowdiff {

/// The AI Horde's anonymous API key; it maps to the shared anonymous account.
inline constexpr std::string_view anonymous_api_key = "0000000000";

/// A new random API key: 22 characters of URL-safe base64 (132 random bits, as long as AI Horde keys).
std::string generate_api_key();

/// The value stored in place of a key: BLAKE2b-256 of it (32 raw bytes). Keys are random and long, so a
/// fast hash is enough; the store never sees a key in clear.
std::string hash_api_key(std::string_view key);

/// True when `key` could be a key (non-empty, at most 128 printable ASCII characters): a cheap check before
/// hashing untrusted input.
bool plausible_api_key(std::string_view key);

}  // namespace crowdiff
