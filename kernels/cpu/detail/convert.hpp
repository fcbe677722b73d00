#pragma once

#include <cstdint>

#include "kernels/dtype.hpp"

namespace crowdiff::kernels::cpu::detail {

/// Converts `n` elements between float dtypes (f32, f16, bf16; rounding to nearest even), or copies them when
/// the dtypes are equal (any dtype). Vectorized and spread over the OpenMP team. `src` and `dst` must not
/// overlap.
void convert(const void* src, dtype from, void* dst, dtype to, int64_t n);

/// Single-threaded f32 -> bf16 for `n` elements, for kernels that convert tiles they already own.
void f32_to_bf16_row(const float* src, uint16_t* dst, int64_t n);

}  // namespace crowdiff::kernels::cpu::detail
