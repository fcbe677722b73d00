#pragma once

// Building blocks of the fused attention kernels (attention.cpp drives them): tile geometry, the online
// softmax step, and the f32 register-tiled products. Everything is always-inline so that each kernel entry
// point compiles it for its own instruction set.
//
// Tiling (FlashAttention's scheme on a CPU): a task owns `block_rows` query rows of one head and walks the
// keys in blocks of `block_keys`, keeping per row the running max m, the running sum l and an unnormalized
// output O in f32; the score tile S = Q K^T of one key block is the only score storage. K and V are packed
// once per head before the tasks run: K transposed to [D][keys] so that a score row is a sum of broadcast
// q-values times key vectors, V as [keys][Dv padded to 16].

#include <algorithm>
#include <cstdint>
#include <limits>

#include "kernels/cpu/detail/simd.hpp"

namespace crowdiff::kernels::cpu::detail {

inline constexpr int64_t block_rows = 64;  ///< Query rows per task.
inline constexpr int64_t block_keys = 64;  ///< Keys per score tile.
inline constexpr int64_t row_group = 4;    ///< Query rows per register tile.

inline constexpr int64_t round_up(int64_t x, int64_t m) {
  return (x + m - 1) / m * m;
}

/// Shapes and strides shared by every task of one attention call.
struct attention_geometry {
  int64_t lq = 0, lk = 0;
  int64_t d = 0, dv = 0;        ///< Head dims of q/k and of v.
  int64_t d_pairs = 0;          ///< ceil(d / 2): bf16 pairs per q/k row.
  int64_t dv_padded = 0;        ///< dv rounded up to 16 lanes.
  int64_t ld_qk = 0, ld_v = 0;  ///< Row strides of q/k and of v/out (heads * head dim).
  int64_t key_blocks = 0;
  int64_t k_tile = 0, v_tile = 0;  ///< 4-byte words per packed key block of K and of V.
  float scale = 1.0f;
  bool causal = false;
};

/// Per-thread working memory of one task.
struct attention_workspace {
  float* o;     ///< [block_rows][dv_padded] unnormalized output.
  float* s;     ///< [block_rows][block_keys] scores, then probabilities.
  void* q;      ///< [block_rows][d] f32, or [block_rows][d_pairs] bf16 pairs.
  uint32_t* p;  ///< [block_rows][block_keys / 2] bf16 probability pairs.
  float* m;     ///< [block_rows] running max.
  float* l;     ///< [block_rows] running sum.
};

/// Keys of block `kb` that exist, and that row `row` (absolute query index) may see.
CROWDIFF_SIMD_INLINE int64_t visible_keys(const attention_geometry& g, int64_t k0, int64_t row) {
  const int64_t limit = g.causal ? std::min(g.lk, row + 1) : g.lk;
  return std::max<int64_t>(0, std::min(limit - k0, block_keys));
}

/// The online softmax step for one query row over one key block of 16 NV score columns, `visible` of them
/// unmasked: raises the running max `m` to cover the block, turns the scores in `s` into probabilities
/// against it (masked ones exactly 0) and returns their sum. The NV vectors stay in registers, so their exp
/// chains overlap. The rescaling of the row's earlier sum and output is left to `rescale_rows`, which does
/// it for 16 rows per exp.
template <int NV>
CROWDIFF_SIMD_INLINE float online_softmax_row(float* s, int64_t visible, float& m) {
  const vi lane_index = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const vf minus_inf = splat(-std::numeric_limits<float>::infinity());
  vf x[NV];
  vi valid[NV];
  vf block_max = minus_inf;
#pragma GCC unroll 16
  for (int c = 0; c < NV; ++c) {
    valid[c] = lane_index + c * static_cast<int32_t>(lanes) < static_cast<int32_t>(visible);
    x[c] = valid[c] ? load(s + c * lanes) : minus_inf;
    block_max = vmax(block_max, x[c]);
  }
  m = std::max(m, reduce_max(block_max));
  vf sum = splat(0.0f);
#pragma GCC unroll 16
  for (int c = 0; c < NV; ++c) {
    // Also covers a row with nothing visible yet (m = -inf): every lane is masked to 0.
    const vf p = valid[c] ? exp(x[c] - m) : splat(0.0f);
    store(s + c * lanes, p);
    sum += p;
  }
  return reduce_add(sum);
}

/// After a key block: for every row of the task, the factor alpha = exp(m_before - m) by which its earlier
/// output must be rescaled (0 when it had seen nothing, 1 while it still sees nothing), and the running sum
/// l = l * alpha + the block's sum.
CROWDIFF_SIMD_INLINE void rescale_rows(const float* m_before, const float* m, const float* block_sums,
                                       float* l, float* alpha) {
  const vf minus_inf = splat(-std::numeric_limits<float>::infinity());
  for (int64_t r = 0; r < block_rows; r += lanes) {
    const vf before = load(m_before + r), now = load(m + r);
    const vf a = before == minus_inf ? (now == minus_inf ? splat(1.0f) : splat(0.0f)) : exp(before - now);
    store(alpha + r, a);
    store(l + r, load(l + r) * a + load(block_sums + r));
  }
}

/// S[r][0 : 16 NV] = sum_t q[r][t] * kt[t][0 : 16 NV] for `row_group` rows.
template <int NV>
CROWDIFF_SIMD_INLINE void score_tile_f32(const float* q, int64_t ldq, const float* kt, int64_t ldk, int64_t d,
                                         float* s) {
  vf acc[row_group][NV];
#pragma GCC unroll 16
  for (auto& row : acc)
#pragma GCC unroll 16
    for (auto& v : row)
      v = splat(0.0f);
  for (int64_t t = 0; t < d; ++t) {
    vf k[NV];
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      k[c] = load(kt + t * ldk + c * lanes);
#pragma GCC unroll 16
    for (int r = 0; r < row_group; ++r) {
      const vf qv = splat(q[r * ldq + t]);
#pragma GCC unroll 16
      for (int c = 0; c < NV; ++c)
        acc[r][c] += qv * k[c];
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < row_group; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      store(s + r * block_keys + c * lanes, acc[r][c]);
}

/// O[r][0 : 16 NV] = alpha[r] * O[r] + sum_j p[r][j] * v[j][0 : 16 NV] for `row_group` rows.
template <int NV>
CROWDIFF_SIMD_INLINE void value_tile_f32(const float* p, const float* v, int64_t ldv, int64_t keys, float* o,
                                         int64_t ldo, const float* alpha) {
  vf acc[row_group][NV];
#pragma GCC unroll 16
  for (int r = 0; r < row_group; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      acc[r][c] = load(o + r * ldo + c * lanes) * alpha[r];
  for (int64_t j = 0; j < keys; ++j) {
    vf vv[NV];
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      vv[c] = load(v + j * ldv + c * lanes);
#pragma GCC unroll 16
    for (int r = 0; r < row_group; ++r) {
      const vf pr = splat(p[r * block_keys + j]);
#pragma GCC unroll 16
      for (int c = 0; c < NV; ++c)
        acc[r][c] += pr * vv[c];
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < row_group; ++r)
#pragma GCC unroll 16
    for (int c = 0; c < NV; ++c)
      store(o + r * ldo + c * lanes, acc[r][c]);
}

/// Writes rows [0, rows) of O / l into the output rows (stride ld) at `out`.
CROWDIFF_SIMD_INLINE void finish_rows(const attention_geometry& g, const attention_workspace& ws,
                                      int64_t rows, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float inv = 1.0f / ws.l[r];
    const float* o = ws.o + r * g.dv_padded;
    float* dst = out + r * g.ld_v;
    int64_t c = 0;
    for (; c + lanes <= g.dv; c += lanes)
      store(dst + c, load(o + c) * inv);
    for (; c < g.dv; ++c)
      dst[c] = o[c] * inv;
  }
}

}  // namespace crowdiff::kernels::cpu::detail
