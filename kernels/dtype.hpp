#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace crowdiff::kernels {

/// Element types of tensors. Stored in caches and sent between nodes: never renumber.
enum class dtype : uint8_t { f32 = 0, f16 = 1, bf16 = 2, i32 = 3, i64 = 4, u8 = 5 };

/// Bytes per element.
constexpr size_t dtype_size(dtype t) {
  switch (t) {
    case dtype::f32:
      return 4;
    case dtype::f16:
      return 2;
    case dtype::bf16:
      return 2;
    case dtype::i32:
      return 4;
    case dtype::i64:
      return 8;
    case dtype::u8:
      return 1;
  }
  return 0;
}

/// Whether `t` is a floating-point type (f32, f16, bf16).
constexpr bool is_float(dtype t) {
  return t == dtype::f32 || t == dtype::f16 || t == dtype::bf16;
}

constexpr std::string_view to_string(dtype t) {
  switch (t) {
    case dtype::f32:
      return "f32";
    case dtype::f16:
      return "f16";
    case dtype::bf16:
      return "bf16";
    case dtype::i32:
      return "i32";
    case dtype::i64:
      return "i64";
    case dtype::u8:
      return "u8";
  }
  return "unknown";
}

}  // namespace crowdiff::kernels
