// The bf16 attention kernel: the attention_tile.hpp scheme with both products on AVX512-BF16's vdpbf16ps,
// which multiplies pairs of bf16 and accumulates in f32 at twice the f32 FMA rate. Scores are rounded to
// bf16 only as the probabilities that multiply V; the softmax itself runs in f32.

#include "kernels/cpu/detail/attention_bf16.hpp"

#include <algorithm>
#include <immintrin.h>

// The functions using AVX512-BF16 intrinsics carry the target themselves, so the rest of the library keeps
// the baseline instruction set; they run only after bf16_attention_available().
#define CROWDIFF_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define CROWDIFF_BF16_INLINE CROWDIFF_BF16_TARGET inline __attribute__((always_inline))

namespace crowdiff::kernels::cpu::detail {

namespace {

// dst[i] = bf16(src[i] * scale) for i < n and 0 for n <= i < count, 32 at a time (rounding to nearest even).
CROWDIFF_BF16_INLINE void scaled_row_to_bf16(const float* src, int64_t n, float scale, uint16_t* dst,
                                             int64_t count) {
  const __m512 factor = _mm512_set1_ps(scale);
  const auto mask16 = [](int64_t left) -> __mmask16 {
    return left >= 16  ? __mmask16{0xffff}
           : left <= 0 ? __mmask16{0}
                       : static_cast<__mmask16>((1u << left) - 1u);
  };
  for (int64_t i = 0; i < count; i += 2 * lanes) {
    const __m512 lo = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask16(n - i), src + i), factor);
    const __m512 hi = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask16(n - i - lanes), src + i + lanes), factor);
    const int64_t out = count - i;
    const __mmask32 keep = out >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << out) - 1u);
    _mm512_mask_storeu_epi16(dst + i, keep, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

template <int NV>
CROWDIFF_BF16_INLINE void score_tile_bf16(const uint32_t* q, int64_t ldq, const uint32_t* kt, int64_t ldk,
                                          int64_t pairs, float* s) {
  __m512 acc[row_group][NV];
#pragma GCC unroll 16
  for (auto& row : acc)
#pragma GCC unroll 16
    for (auto& v : row)
      v = _mm512_setzero_ps();
  for (int64_t t = 0; t < pairs; ++t) {
    __m512i k[NV];
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      k[c] = _mm512_loadu_si512(kt + t * ldk + c * lanes);
#pragma GCC unroll 16
    for (int r = 0; r < row_group; ++r) {
      const __m512i qv = _mm512_set1_epi32(static_cast<int>(q[r * ldq + t]));
#pragma GCC unroll 16
      for (int c = 0; c < NV; ++c)
        acc[r][c] = _mm512_dpbf16_ps(acc[r][c], (__m512bh)qv, (__m512bh)k[c]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < row_group; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      _mm512_storeu_ps(s + r * block_keys + c * lanes, acc[r][c]);
}

template <int NV>
CROWDIFF_BF16_INLINE void value_tile_bf16(const uint32_t* p, const uint32_t* v, int64_t ldv, int64_t pairs,
                                          float* o, int64_t ldo, const float* alpha) {
  __m512 acc[row_group][NV];
#pragma GCC unroll 16
  for (int r = 0; r < row_group; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      acc[r][c] = _mm512_mul_ps(_mm512_loadu_ps(o + r * ldo + c * lanes), _mm512_set1_ps(alpha[r]));
  for (int64_t j = 0; j < pairs; ++j) {
    __m512i vv[NV];
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      vv[c] = _mm512_loadu_si512(v + j * ldv + c * lanes);
#pragma GCC unroll 16
    for (int r = 0; r < row_group; ++r) {
      const __m512i pv = _mm512_set1_epi32(static_cast<int>(p[r * (block_keys / 2) + j]));
#pragma GCC unroll 16
      for (int c = 0; c < NV; ++c)
        acc[r][c] = _mm512_dpbf16_ps(acc[r][c], (__m512bh)pv, (__m512bh)vv[c]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < row_group; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      _mm512_storeu_ps(o + r * ldo + c * lanes, acc[r][c]);
}

// Probabilities of one row (width a multiple of 16) as bf16 pairs.
CROWDIFF_BF16_INLINE void probabilities_to_pairs(const float* s, int64_t width, uint32_t* p) {
  for (int64_t c = 0; c < width; c += 2 * lanes) {
    const __m512 lo = _mm512_loadu_ps(s + c);
    const __m512 hi = c + lanes < width ? _mm512_loadu_ps(s + c + lanes) : _mm512_setzero_ps();
    _mm512_storeu_si512(p + c / 2, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

// One key block of 16 NV keys for every row of the task: scores, online softmax, bf16 probabilities,
// output update.
template <int NV>
CROWDIFF_BF16_INLINE void key_block_bf16(const attention_geometry& g, const attention_workspace& ws,
                                         const uint32_t* qp, int64_t rows, int64_t q0, int64_t k0,
                                         const uint32_t* kt, const uint32_t* vt, float* alpha) {
  constexpr int64_t width = NV * lanes;
  const int64_t padded_rows = round_up(rows, row_group);
  for (int64_t r0 = 0; r0 < padded_rows; r0 += row_group)
    score_tile_bf16<NV>(qp + r0 * g.d_pairs, g.d_pairs, kt, width, g.d_pairs, ws.s + r0 * block_keys);
  float m_before[block_rows], block_sums[block_rows] = {};
  std::copy(ws.m, ws.m + block_rows, m_before);
  for (int64_t r = 0; r < padded_rows; ++r) {
    const int64_t visible = r < rows ? visible_keys(g, k0, q0 + r) : 0;
    block_sums[r] = online_softmax_row<NV>(ws.s + r * block_keys, visible, ws.m[r]);
    probabilities_to_pairs(ws.s + r * block_keys, width, ws.p + r * (block_keys / 2));
  }
  rescale_rows(m_before, ws.m, block_sums, ws.l, alpha);
  for (int64_t r0 = 0; r0 < padded_rows; r0 += row_group) {
    const uint32_t* p = ws.p + r0 * (block_keys / 2);
    float* o = ws.o + r0 * g.dv_padded;
    int64_t c = 0;
    for (; c + 4 * lanes <= g.dv_padded; c += 4 * lanes)
      value_tile_bf16<4>(p, vt + c, g.dv_padded, width / 2, o + c, g.dv_padded, alpha + r0);
    switch ((g.dv_padded - c) / lanes) {
      case 1:
        value_tile_bf16<1>(p, vt + c, g.dv_padded, width / 2, o + c, g.dv_padded, alpha + r0);
        break;
      case 2:
        value_tile_bf16<2>(p, vt + c, g.dv_padded, width / 2, o + c, g.dv_padded, alpha + r0);
        break;
      case 3:
        value_tile_bf16<3>(p, vt + c, g.dv_padded, width / 2, o + c, g.dv_padded, alpha + r0);
        break;
      default:
        break;
    }
  }
}

}  // namespace

bool bf16_attention_available() {
  return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
}

CROWDIFF_BF16_TARGET void pack_head_bf16(const attention_geometry& g, const float* k, const float* v,
                                         uint32_t* k_packed, uint32_t* v_packed) {
  // Rows are converted in chunks of `chunk` elements through these buffers, then rearranged as words.
  constexpr int64_t chunk = 512;
  alignas(64) uint16_t a[chunk], b[chunk];
  for (int64_t kb = 0; kb < g.key_blocks; ++kb) {
    const int64_t k0 = kb * block_keys, keys = std::min(block_keys, g.lk - k0), width = round_up(keys, lanes);
    uint32_t* kt = k_packed + kb * g.k_tile;
    for (int64_t j = 0; j < width; ++j) {
      for (int64_t t0 = 0; t0 < 2 * g.d_pairs; t0 += chunk) {
        const int64_t count = std::min(chunk, 2 * g.d_pairs - t0);
        const int64_t n = j < keys ? std::max<int64_t>(0, std::min(count, g.d - t0)) : 0;
        scaled_row_to_bf16(k + (k0 + j) * g.ld_qk + t0, n, 1.0f, a, count);
        for (int64_t t = 0; t < count / 2; ++t)
          kt[(t0 / 2 + t) * width + j] = static_cast<uint32_t>(a[2 * t]) | static_cast<uint32_t>(a[2 * t + 1])
                                                                               << 16;
      }
    }
    uint32_t* vt = v_packed + kb * g.v_tile;
    for (int64_t j = 0; j < width / 2; ++j) {
      for (int64_t c0 = 0; c0 < g.dv_padded; c0 += chunk) {
        const int64_t count = std::min(chunk, g.dv_padded - c0);
        const int64_t n = std::max<int64_t>(0, std::min(count, g.dv - c0));
        scaled_row_to_bf16(v + (k0 + 2 * j) * g.ld_v + c0, 2 * j < keys ? n : 0, 1.0f, a, count);
        scaled_row_to_bf16(v + (k0 + 2 * j + 1) * g.ld_v + c0, 2 * j + 1 < keys ? n : 0, 1.0f, b, count);
        for (int64_t c = 0; c < count; ++c)
          vt[j * g.dv_padded + c0 + c] = static_cast<uint32_t>(a[c]) | static_cast<uint32_t>(b[c]) << 16;
      }
    }
  }
}

CROWDIFF_BF16_TARGET void attend_block_bf16(const attention_geometry& g, const float* q, int64_t q0,
                                            int64_t rows, const uint32_t* k_packed, const uint32_t* v_packed,
                                            float* out, const attention_workspace& ws) {
  const int64_t padded_rows = round_up(rows, row_group);
  auto* qp = static_cast<uint32_t*>(ws.q);
  for (int64_t r = 0; r < padded_rows; ++r) {
    scaled_row_to_bf16(q + r * g.ld_qk, r < rows ? g.d : 0, g.scale,
                       reinterpret_cast<uint16_t*>(qp + r * g.d_pairs), 2 * g.d_pairs);
    std::fill(ws.o + r * g.dv_padded, ws.o + (r + 1) * g.dv_padded, 0.0f);
  }
  std::fill(ws.m, ws.m + block_rows, -std::numeric_limits<float>::infinity());
  std::fill(ws.l, ws.l + block_rows, 0.0f);
  alignas(64) float alpha[block_rows];
  const int64_t last_row = q0 + rows - 1;
  for (int64_t kb = 0; kb < g.key_blocks; ++kb) {
    const int64_t k0 = kb * block_keys;
    if (g.causal && k0 > last_row)
      break;
    const uint32_t* kt = k_packed + kb * g.k_tile;
    const uint32_t* vt = v_packed + kb * g.v_tile;
    switch (round_up(std::min(block_keys, g.lk - k0), lanes) / lanes) {
      case 1:
        key_block_bf16<1>(g, ws, qp, rows, q0, k0, kt, vt, alpha);
        break;
      case 2:
        key_block_bf16<2>(g, ws, qp, rows, q0, k0, kt, vt, alpha);
        break;
      case 3:
        key_block_bf16<3>(g, ws, qp, rows, q0, k0, kt, vt, alpha);
        break;
      default:
        key_block_bf16<4>(g, ws, qp, rows, q0, k0, kt, vt, alpha);
        break;
    }
  }
  finish_rows(g, ws, rows, out);
}

}  // namespace crowdiff::kernels::cpu::detail
