#pragma once

// Element access for the kernels: f16, bf16 and f32 values read as f32 and written back rounded to nearest
// even, and the packing of two values into one tensor-core fragment element.

#include <cstdint>
#include <cstring>

#include "kernels/cuda/detail/device_primitives.cuh"
#include "kernels/dtype.hpp"

namespace crowdiff::kernels::cuda {

CROWDIFF_DEVICE float to_f32(float v) {
  return v;
}
CROWDIFF_DEVICE float to_f32(__half v) {
  return __half2float(v);
}
CROWDIFF_DEVICE float to_f32(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <class T>
CROWDIFF_DEVICE T from_f32(float v);
template <>
CROWDIFF_DEVICE float from_f32<float>(float v) {
  return v;
}
template <>
CROWDIFF_DEVICE __half from_f32<__half>(float v) {
  return __float2half_rn(v);
}
template <>
CROWDIFF_DEVICE __nv_bfloat16 from_f32<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

/// Two values rounded to T and packed, `lo` in the lower 16 bits.
template <class T>
CROWDIFF_DEVICE pair16 pack_pair(float lo, float hi) {
  const T l = from_f32<T>(lo), h = from_f32<T>(hi);
  uint16_t lb, hb;
  std::memcpy(&lb, &l, 2);
  std::memcpy(&hb, &h, 2);
  return static_cast<pair16>(lb) | (static_cast<pair16>(hb) << 16);
}

/// Element `i` of an array of float dtype `t` (f32, f16, bf16), as f32. For per-channel parameters, whose
/// dtype is known only at run time.
CROWDIFF_DEVICE float load_any(const void* p, dtype t, int64_t i) {
  switch (t) {
    case dtype::f16:
      return to_f32(static_cast<const __half*>(p)[i]);
    case dtype::bf16:
      return to_f32(static_cast<const __nv_bfloat16*>(p)[i]);
    default:
      return static_cast<const float*>(p)[i];
  }
}

/// Writes `v` as element `i` of an array of float dtype `t`.
CROWDIFF_DEVICE void store_any(void* p, dtype t, int64_t i, float v) {
  switch (t) {
    case dtype::f16:
      static_cast<__half*>(p)[i] = from_f32<__half>(v);
      break;
    case dtype::bf16:
      static_cast<__nv_bfloat16*>(p)[i] = from_f32<__nv_bfloat16>(v);
      break;
    default:
      static_cast<float*>(p)[i] = v;
      break;
  }
}

/// Eight consecutive elements (16 bytes, 16-byte aligned) as f32.
template <class T>
CROWDIFF_DEVICE void load8(const T* p, float (&v)[8]) {
  T raw[8];
#if defined(__CUDACC__)
  *reinterpret_cast<uint4*>(raw) = *reinterpret_cast<const uint4*>(p);
#else
  std::memcpy(raw, p, sizeof raw);
#endif
  for (int i = 0; i < 8; ++i)
    v[i] = to_f32(raw[i]);
}

/// Stores eight values rounded to T at `p` (16-byte aligned).
template <class T>
CROWDIFF_DEVICE void store8(T* p, const float (&v)[8]) {
  T raw[8];
  for (int i = 0; i < 8; ++i)
    raw[i] = from_f32<T>(v[i]);
#if defined(__CUDACC__)
  *reinterpret_cast<uint4*>(p) = *reinterpret_cast<const uint4*>(raw);
#else
  std::memcpy(p, raw, sizeof raw);
#endif
}

/// Whether `p` is aligned to `bytes`.
CROWDIFF_DEVICE bool aligned_to(const void* p, uintptr_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

}  // namespace crowdiff::kernels::cuda
