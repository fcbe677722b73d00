#pragma once

// The fused attention forward (FlashAttention-2's scheme, our own code): one block takes 64 query rows of one
// head, walks the keys in tiles of 64 and keeps, per row, a running maximum, a running sum and an
// unnormalized output (the online softmax), so the [lq, lk] scores never exist in memory. Tensor cores
// (mma.sync m16n8k16, f32 accumulation) compute q k^T and p v; the probabilities go from the score
// accumulators to the next product's operand fragments in registers. K and V tiles are double-buffered with
// cp.async so that the next tile loads while the current one is multiplied.
//
// Fragment layout (per warp, 16 rows): lane l holds rows g = l / 4 and g + 8, columns 2 (l % 4) and
// 2 (l % 4) + 1 of every 8-wide column tile.

#include <cmath>

#include "kernels/cuda/detail/attention/flash_params.hpp"
#include "kernels/cuda/detail/attention/flash_traits.hpp"
#include "kernels/cuda/detail/device_primitives.cuh"
#include "kernels/cuda/detail/element.cuh"

namespace crowdiff::kernels::cuda {

/// The grid: 64 query rows x heads x batch.
template <int Dp>
launch_dims flash_dims(const flash_params& p) {
  using tr = flash_traits<Dp>;
  return {static_cast<unsigned>((p.lq + tr::block_m - 1) / tr::block_m), static_cast<unsigned>(p.heads),
          static_cast<unsigned>(p.batch), tr::threads, tr::shared_bytes};
}

namespace flash_detail {

/// Rows [row0, row0 + 64) of one head's matrix (`stride` elements between rows, `cols` valid columns) into a
/// shared tile of Dp columns. Rows at or past `rows` and columns at or past `cols` become zero, so padded
/// keys and padded head-dim columns add nothing to any product.
template <class T, int Dp>
CROWDIFF_DEVICE void load_tile(T* tile, const T* src, int row0, int rows, int64_t stride, int cols,
                               bool vector) {
  using tr = flash_traits<Dp>;
  constexpr int chunks_per_row = Dp / 8;
  for (int c = static_cast<int>(thread_x()); c < 64 * chunks_per_row; c += tr::threads) {
    const int r = c / chunks_per_row, col = (c % chunks_per_row) * 8;
    T* dst = tile + r * tr::row_stride + col;
    const int row = row0 + r;
    if (vector) {
      const bool valid = row < rows && col < cols;
      cp_async_16(dst, valid ? src + row * stride + col : src, valid ? 16 : 0);
    } else {
      for (int e = 0; e < 8; ++e)
        dst[e] = row < rows && col + e < cols ? src[row * stride + col + e] : from_f32<T>(0.0f);
    }
  }
}

}  // namespace flash_detail

template <class T, int Dp>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(flash_traits<Dp>::threads) void flash_forward_kernel(
    const flash_params p) {
  using tr = flash_traits<Dp>;
  using flash_detail::load_tile;
  T* const smem = static_cast<T*>(dynamic_shared());
  // Stage s holds its K tile at smem + 2 s tiles and its V tile right after (pointer arithmetic rather than
  // an array of pointers, which a run-time stage index would put in local memory).
  const auto k_tile = [smem](int stage) { return smem + 2 * stage * tr::tile_elements; };
  const auto v_tile = [smem](int stage) { return smem + (2 * stage + 1) * tr::tile_elements; };
  T* const q_tile = k_tile(1);  // free until the loop prefetches the second key tile

  const int m0 = static_cast<int>(block_x()) * tr::block_m;
  const int head = static_cast<int>(block_y()), batch = static_cast<int>(block_z());
  const int warp = static_cast<int>(thread_x()) / 32, lane = static_cast<int>(thread_x()) % 32;
  const int quad_col = 2 * (lane % 4);
  const int row0 = m0 + warp * 16 + lane / 4;  // this thread's rows: row0 and row0 + 8

  const T* const q = static_cast<const T*>(p.q) + batch * p.q_batch_stride + head * p.d;
  const T* const k = static_cast<const T*>(p.k) + batch * p.k_batch_stride + head * p.d;
  const T* const v = static_cast<const T*>(p.v) + batch * p.v_batch_stride + head * p.dv;
  T* const out = static_cast<T*>(p.out) + batch * p.out_batch_stride + head * p.dv;

  int key_tiles = (p.lk + tr::block_n - 1) / tr::block_n;
  if (p.causal) {
    const int last_row = (m0 + tr::block_m < p.lq ? m0 + tr::block_m : p.lq) - 1;
    key_tiles = key_tiles < last_row / tr::block_n + 1 ? key_tiles : last_row / tr::block_n + 1;
  }

  load_tile<T, Dp>(q_tile, q, m0, p.lq, p.q_row_stride, p.d, p.vector_loads);
  load_tile<T, Dp>(k_tile(0), k, 0, p.lk, p.k_row_stride, p.d, p.vector_loads);
  load_tile<T, Dp>(v_tile(0), v, 0, p.lk, p.v_row_stride, p.dv, p.vector_loads);
  cp_async_commit();
  cp_async_wait_all();
  sync_threads();

  // This warp's 16 query rows as A fragments, one per 16-wide step along the head dim.
  pair16 qf[tr::k_steps][4];
  CROWDIFF_UNROLL
  for (int kk = 0; kk < tr::k_steps; ++kk)
    ldmatrix_x4(qf[kk], q_tile + (warp * 16 + lane % 16) * tr::row_stride + kk * 16 + (lane / 16) * 8);
  sync_threads();

  float o[tr::dv_tiles][4];
  CROWDIFF_UNROLL
  for (int dt = 0; dt < tr::dv_tiles; ++dt)
    o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
  float row_max[2] = {-INFINITY, -INFINITY};
  float row_sum[2] = {0.0f, 0.0f};  // this thread's share; the quad's shares are added at the end

  for (int j = 0; j < key_tiles; ++j) {
    const int stage = j & 1;
    if (j + 1 < key_tiles) {
      load_tile<T, Dp>(k_tile(stage ^ 1), k, (j + 1) * tr::block_n, p.lk, p.k_row_stride, p.d,
                       p.vector_loads);
      load_tile<T, Dp>(v_tile(stage ^ 1), v, (j + 1) * tr::block_n, p.lk, p.v_row_stride, p.dv,
                       p.vector_loads);
      cp_async_commit();
    }
    const T* const kt = k_tile(stage);
    const T* const vt = v_tile(stage);

    // s = q k^T for 16 rows x 64 keys: B fragments are K rows (keys) read along the head dim.
    float s[tr::key_tiles][4];
    CROWDIFF_UNROLL
    for (int nt = 0; nt < tr::key_tiles; ++nt)
      s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
    CROWDIFF_UNROLL
    for (int kk = 0; kk < tr::k_steps; ++kk) {
      CROWDIFF_UNROLL
      for (int pr = 0; pr < tr::key_tiles / 2; ++pr) {
        pair16 kb[4];
        ldmatrix_x4(kb, kt + (16 * pr + lane % 8 + 8 * (lane / 16)) * tr::row_stride + 16 * kk +
                            8 * ((lane / 8) % 2));
        mma_16816<T>(s[2 * pr], qf[kk], kb[0], kb[1]);
        mma_16816<T>(s[2 * pr + 1], qf[kk], kb[2], kb[3]);
      }
    }

    // Scale into the exp2 domain; mask keys past lk and, when causal, keys after the query.
    const int key0 = j * tr::block_n;
    const bool masked = key0 + tr::block_n > p.lk || (p.causal && key0 + tr::block_n - 1 > m0);
    CROWDIFF_UNROLL
    for (int nt = 0; nt < tr::key_tiles; ++nt) {
      CROWDIFF_UNROLL
      for (int e = 0; e < 4; ++e) {
        float x = s[nt][e] * p.scale_log2;
        if (masked) {
          const int key = key0 + nt * 8 + quad_col + (e & 1);
          const int row = row0 + (e >= 2 ? 8 : 0);
          if (key >= p.lk || (p.causal && key > row))
            x = -INFINITY;
        }
        s[nt][e] = x;
      }
    }

    // Online softmax per row: rescale what was accumulated by exp2(old max - new max).
    CROWDIFF_UNROLL
    for (int r = 0; r < 2; ++r) {
      float mx = -INFINITY;
      CROWDIFF_UNROLL
      for (int nt = 0; nt < tr::key_tiles; ++nt)
        mx = fmaxf(mx, fmaxf(s[nt][2 * r], s[nt][2 * r + 1]));
      mx = fmaxf(mx, shfl_xor(mx, 1));
      mx = fmaxf(mx, shfl_xor(mx, 2));
      const float m_new = fmaxf(row_max[r], mx);
      const float base = m_new == -INFINITY ? 0.0f : m_new;  // a row with no visible key yet stays at 0
      const float correction = exp2f(row_max[r] - base);
      row_max[r] = m_new;
      float sum = 0.0f;
      CROWDIFF_UNROLL
      for (int nt = 0; nt < tr::key_tiles; ++nt) {
        s[nt][2 * r] = exp2f(s[nt][2 * r] - base);
        s[nt][2 * r + 1] = exp2f(s[nt][2 * r + 1] - base);
        sum += s[nt][2 * r] + s[nt][2 * r + 1];
      }
      row_sum[r] = row_sum[r] * correction + sum;
      CROWDIFF_UNROLL
      for (int dt = 0; dt < tr::dv_tiles; ++dt) {
        o[dt][2 * r] *= correction;
        o[dt][2 * r + 1] *= correction;
      }
    }

    // o += p v: the score accumulators of two adjacent key tiles are the A fragment of one 16-key step;
    // B fragments are V rows (keys) read transposed.
    CROWDIFF_UNROLL
    for (int ks = 0; ks < tr::key_tiles / 2; ++ks) {
      const pair16 pa[4] = {
          pack_pair<T>(s[2 * ks][0], s[2 * ks][1]), pack_pair<T>(s[2 * ks][2], s[2 * ks][3]),
          pack_pair<T>(s[2 * ks + 1][0], s[2 * ks + 1][1]), pack_pair<T>(s[2 * ks + 1][2], s[2 * ks + 1][3])};
      CROWDIFF_UNROLL
      for (int dq = 0; dq < tr::dv_tiles / 2; ++dq) {
        pair16 vb[4];
        ldmatrix_x4_trans(vb, vt + (16 * ks + lane % 8 + 8 * ((lane / 8) % 2)) * tr::row_stride + 16 * dq +
                                  8 * (lane / 16));
        mma_16816<T>(o[2 * dq], pa, vb[0], vb[1]);
        mma_16816<T>(o[2 * dq + 1], pa, vb[2], vb[3]);
      }
    }
    cp_async_wait_all();  // the next stage has landed ...
    sync_threads();       // ... and no warp still reads this one, which the next prefetch overwrites
  }

  CROWDIFF_UNROLL
  for (int r = 0; r < 2; ++r) {
    row_sum[r] += shfl_xor(row_sum[r], 1);
    row_sum[r] += shfl_xor(row_sum[r], 2);
  }
  CROWDIFF_UNROLL
  for (int r = 0; r < 2; ++r) {
    const int row = row0 + 8 * r;
    if (row >= p.lq)
      continue;
    const float inv = 1.0f / row_sum[r];
    T* const dst = out + row * p.out_row_stride;
    CROWDIFF_UNROLL
    for (int dt = 0; dt < tr::dv_tiles; ++dt) {
      const int col = dt * 8 + quad_col;
      if (col >= p.dv)
        break;
      const float a = o[dt][2 * r] * inv, b = o[dt][2 * r + 1] * inv;
      if (p.pair_stores) {
        store_pair(dst + col, pack_pair<T>(a, b));
      } else {
        dst[col] = from_f32<T>(a);
        if (col + 1 < p.dv)
          dst[col + 1] = from_f32<T>(b);
      }
    }
  }
}

}  // namespace crowdiff::kernels::cuda
