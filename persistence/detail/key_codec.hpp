#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace crowdiff::persistence::detail {

// Keys are compared bytewise by LMDB, so integers are written big-endian to sort numerically.

inline void append_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

inline void append_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

inline uint64_t read_u64(std::string_view in, size_t offset = 0) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<uint8_t>(in[offset + i]);
  return v;
}

inline uint32_t read_u32(std::string_view in, size_t offset = 0) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<uint8_t>(in[offset + i]);
  return v;
}

inline std::string u64_key(uint64_t v) {
  std::string out;
  append_u64(out, v);
  return out;
}

/// Maps a double onto a uint64 whose unsigned order is the double's numeric order.
inline uint64_t ordered_bits(double d) {
  uint64_t bits = std::bit_cast<uint64_t>(d);
  return (bits & 0x8000000000000000ULL) ? ~bits : (bits | 0x8000000000000000ULL);
}

}  // namespace crowdiff::persistence::detail
