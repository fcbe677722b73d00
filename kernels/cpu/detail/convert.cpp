#include "kernels/cpu/detail/convert.hpp"

#include <cstring>

#include "kernels/cpu/detail/parallel.hpp"
#include "kernels/cpu/detail/simd.hpp"
#include "kernels/half.hpp"

namespace crowdiff::kernels::cpu::detail {

namespace {

using vu32 = uint32_t __attribute__((vector_size(64)));
using vu16 = uint16_t __attribute__((vector_size(32)));

constexpr int64_t grain = 1 << 15;  // elements; below this a second thread costs more than it saves

CROWDIFF_CPU_CLONES void bf16_to_f32_row(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    vu16 h;
    std::memcpy(&h, src + i, sizeof h);
    const vu32 wide = __builtin_convertvector(h, vu32) << 16;
    std::memcpy(dst + i, &wide, sizeof wide);
  }
  for (; i < n; ++i)
    dst[i] = bf16_to_f32(src[i]);
}

void f16_to_f32_row(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = f16_to_f32(src[i]);
}

void f32_to_f16_row(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = f32_to_f16(src[i]);
}

void narrow_via_f32(const void* src, dtype from, void* dst, dtype to, int64_t begin, int64_t end) {
  // f16 <-> bf16 goes through an f32 tile on the stack.
  float tile[256];
  for (int64_t i = begin; i < end; i += 256) {
    const int64_t count = std::min<int64_t>(256, end - i);
    const auto* s = static_cast<const uint16_t*>(src) + i;
    auto* d = static_cast<uint16_t*>(dst) + i;
    if (from == dtype::f16)
      f16_to_f32_row(s, tile, count);
    else
      bf16_to_f32_row(s, tile, count);
    if (to == dtype::f16)
      f32_to_f16_row(tile, d, count);
    else
      f32_to_bf16_row(tile, d, count);
  }
}

}  // namespace

CROWDIFF_CPU_CLONES void f32_to_bf16_row(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    vu32 x;
    std::memcpy(&x, src + i, sizeof x);
    const vu32 rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    const vu32 quiet_nan = (x >> 16) | 0x40u;
    const vu32 bits = (x & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded;
    const vu16 narrow = __builtin_convertvector(bits, vu16);
    std::memcpy(dst + i, &narrow, sizeof narrow);
  }
  for (; i < n; ++i)
    dst[i] = f32_to_bf16(src[i]);
}

void convert(const void* src, dtype from, void* dst, dtype to, int64_t n) {
  if (from == to) {
    const auto size = static_cast<int64_t>(dtype_size(from));
    parallel_for(n * size, grain * 4, [&](int64_t begin, int64_t end) {
      std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin,
                  static_cast<size_t>(end - begin));
    });
    return;
  }
  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    const auto* s32 = static_cast<const float*>(src) + begin;
    const auto* s16 = static_cast<const uint16_t*>(src) + begin;
    auto* d32 = static_cast<float*>(dst) + begin;
    auto* d16 = static_cast<uint16_t*>(dst) + begin;
    const int64_t count = end - begin;
    if (from == dtype::f32 && to == dtype::bf16)
      f32_to_bf16_row(s32, d16, count);
    else if (from == dtype::f32 && to == dtype::f16)
      f32_to_f16_row(s32, d16, count);
    else if (from == dtype::bf16 && to == dtype::f32)
      bf16_to_f32_row(s16, d32, count);
    else if (from == dtype::f16 && to == dtype::f32)
      f16_to_f32_row(s16, d32, count);
    else
      narrow_via_f32(src, from, dst, to, begin, end);
  });
}

}  // namespace crowdiff::kernels::cpu::detail
