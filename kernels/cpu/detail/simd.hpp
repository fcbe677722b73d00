#pragma once

// Portable 16-lane f32 vectors (GCC vector extensions) and the transcendental functions the pointwise
// kernels need. The hot functions that use them are compiled several times with CROWDIFF_CPU_CLONES, so the
// same source becomes AVX-512 code on CPUs that have it, AVX2 on others and SSE2 everywhere else, picked
// once at load time.

#include <cstdint>
#include <cstring>

namespace crowdiff::kernels::cpu::detail {

#if defined(CROWDIFF_CPU_TARGET)
// A build pinned to one instruction set, e.g. -DCROWDIFF_CPU_TARGET='"arch=x86-64"', to test the AVX2 or
// baseline code paths on a machine that would dispatch to AVX-512.
#define CROWDIFF_CPU_CLONES __attribute__((target(CROWDIFF_CPU_TARGET)))
#else
/// Marks a function to be compiled for AVX-512, AVX2 and baseline x86-64, dispatched at load time.
#define CROWDIFF_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
/// Helpers called from cloned functions: inlined, so they take the caller's instruction set.
#define CROWDIFF_SIMD_INLINE inline __attribute__((always_inline))

inline constexpr int lanes = 16;
using vf = float __attribute__((vector_size(64)));
using vi = int32_t __attribute__((vector_size(64)));

CROWDIFF_SIMD_INLINE vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
CROWDIFF_SIMD_INLINE void store(float* p, vf v) {
  std::memcpy(p, &v, sizeof v);
}
/// The first `n` (< lanes) elements, zeros after.
CROWDIFF_SIMD_INLINE vf load_partial(const float* p, int64_t n) {
  vf v{};
  for (int64_t i = 0; i < n; ++i)
    v[i] = p[i];
  return v;
}
CROWDIFF_SIMD_INLINE void store_partial(float* p, vf v, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    p[i] = v[i];
}
/// x in every lane, as one broadcast. (`vf{} + x` would cost a scalar add first, since 0 + x is not x for
/// x = -0, and a sixteen-element initializer becomes sixteen inserts.)
CROWDIFF_SIMD_INLINE vf splat(float x) {
  return __builtin_shuffle(vf{x}, vi{});
}
CROWDIFF_SIMD_INLINE vf vmax(vf a, vf b) {
  return a > b ? a : b;
}
CROWDIFF_SIMD_INLINE vf vmin(vf a, vf b) {
  return a < b ? a : b;
}
CROWDIFF_SIMD_INLINE vf vabs(vf a) {
  return (vf)((vi)a & 0x7fffffff);
}

// Tree reductions by halving with shuffles: four vector steps instead of fifteen scalar ones, and the sum's
// rounding error grows with log2 of the lane count.
CROWDIFF_SIMD_INLINE float reduce_add(vf v) {
  v += __builtin_shuffle(v, vi{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7});
  v += __builtin_shuffle(v, vi{4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11});
  v += __builtin_shuffle(v, vi{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13});
  v += __builtin_shuffle(v, vi{1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14});
  return v[0];
}
CROWDIFF_SIMD_INLINE float reduce_max(vf v) {
  v = vmax(v, __builtin_shuffle(v, vi{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7}));
  v = vmax(v, __builtin_shuffle(v, vi{4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11}));
  v = vmax(v, __builtin_shuffle(v, vi{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13}));
  v = vmax(v, __builtin_shuffle(v, vi{1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}));
  return v[0];
}

/// e^x to about 2 ulp for x in [-87.3, 88.3]; clamped outside, so large negative inputs give ~1e-38
/// rather than 0 and large positive ones ~2e38 rather than infinity.
CROWDIFF_SIMD_INLINE vf exp(vf x) {
  x = vmin(vmax(x, splat(-87.3f)), splat(88.3f));
  // x = n ln2 + r, |r| <= ln2/2; n rounded with the 1.5 * 2^23 trick (needs no -ffast-math).
  const vf magic = splat(12582912.0f);
  const vf t = x * 1.44269504088896341f + magic;
  const vf n = t - magic;
  const vi ni = (vi)t - (vi)magic;
  // ln2 split in two so that n * ln2_hi is exact (Cody-Waite).
  const vf r = x - n * 0.693145751953125f - n * 1.42860682030941723e-6f;
  // Taylor series to r^7: truncation error < 5e-9 relative on |r| <= 0.347.
  vf p = splat(1.0f / 5040.0f);
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * (vf)((ni + 127) << 23);
}

/// 1 / (1 + e^-x), accurate in relative terms for all x (no cancellation).
CROWDIFF_SIMD_INLINE vf sigmoid(vf x) {
  return 1.0f / (1.0f + exp(-x));
}

/// Phi(x), the standard normal CDF, to a few ulp relative everywhere: 0.5 erfc(-x / sqrt 2), with
/// erfc(z) = e^(-z^2) P(1 / (1 + z/2)) for z >= 0. P is a degree-10 least-squares fit of erfc(z) e^(z^2) in
/// that variable over z in [0, 10], weighted for relative error (made for crowdiff with mpmath; max error
/// 7e-9 in exact arithmetic, 2.2e-7 evaluated in f32).
CROWDIFF_SIMD_INLINE vf normal_cdf(vf x) {
  const vf z = vmin(vabs(x) * 0.70710678118654752f, splat(10.0f));
  const vf t = 1.0f / (1.0f + 0.5f * z);
  vf p = splat(2.9160466787e-02f);
  p = p * t - 2.1760543449e-01f;
  p = p * t + 6.5897795864e-01f;
  p = p * t - 9.9134918543e-01f;
  p = p * t + 7.0525510575e-01f;
  p = p * t - 2.6381043664e-01f;
  p = p * t + 2.8978535050e-01f;
  p = p * t + 2.2227666035e-01f;
  p = p * t + 2.8547221885e-01f;
  p = p * t + 2.8182811291e-01f;
  p = p * t + 9.1789946962e-06f;
  const vf half_erfc = 0.5f * p * exp(-z * z);
  return x >= 0.0f ? 1.0f - half_erfc : half_erfc;
}

/// GELU with the exact erf.
CROWDIFF_SIMD_INLINE vf gelu(vf x) {
  return x * normal_cdf(x);
}
/// GELU's tanh approximation, as x * sigmoid(2 y): 0.5 (1 + tanh y) = sigmoid(2 y) without cancellation.
CROWDIFF_SIMD_INLINE vf gelu_tanh(vf x) {
  const vf y = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  return x * sigmoid(2.0f * y);
}
CROWDIFF_SIMD_INLINE vf silu(vf x) {
  return x * sigmoid(x);
}
CROWDIFF_SIMD_INLINE vf quick_gelu(vf x) {
  return x * sigmoid(1.702f * x);
}

}  // namespace crowdiff::kernels::cpu::detail
