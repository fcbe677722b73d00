// Fused scaled dot-product attention: see attention_tile.hpp for the tiling. This file packs K and V per
// head, runs one task per (batch, head, block of query rows) on the OpenMP team, and holds the f32 kernel;
// attention_bf16.cpp holds the bf16 one.

#include <algorithm>
#include <omp.h>

#include "kernels/cpu/detail/attention_bf16.hpp"
#include "kernels/cpu/detail/ops.hpp"
#include "kernels/cpu/detail/parallel.hpp"

namespace crowdiff::kernels::cpu::detail {

namespace {

// K as [key block][d][width] (transposed), V as [key block][width][dv_padded], zero beyond the data.
void pack_head_f32(const attention_geometry& g, const float* k, const float* v, float* k_packed,
                   float* v_packed) {
  for (int64_t kb = 0; kb < g.key_blocks; ++kb) {
    const int64_t k0 = kb * block_keys, keys = std::min(block_keys, g.lk - k0), width = round_up(keys, lanes);
    float* kt = k_packed + kb * g.k_tile;
    for (int64_t j = 0; j < width; ++j)
      for (int64_t t = 0; t < g.d; ++t)
        kt[t * width + j] = j < keys ? k[(k0 + j) * g.ld_qk + t] : 0.0f;
    float* vt = v_packed + kb * g.v_tile;
    for (int64_t j = 0; j < width; ++j)
      for (int64_t c = 0; c < g.dv_padded; ++c)
        vt[j * g.dv_padded + c] = j < keys && c < g.dv ? v[(k0 + j) * g.ld_v + c] : 0.0f;
  }
}

// One key block of 16 NV keys for every row of the task: scores, online softmax, output update.
template <int NV>
CROWDIFF_SIMD_INLINE void key_block_f32(const attention_geometry& g, const attention_workspace& ws,
                                        const float* qs, int64_t rows, int64_t q0, int64_t k0,
                                        const float* kt, const float* vt, float* alpha) {
  constexpr int64_t width = NV * lanes;
  const int64_t padded_rows = round_up(rows, row_group);
  for (int64_t r0 = 0; r0 < padded_rows; r0 += row_group)
    score_tile_f32<NV>(qs + r0 * g.d, g.d, kt, width, g.d, ws.s + r0 * block_keys);
  float m_before[block_rows], block_sums[block_rows] = {};
  std::copy(ws.m, ws.m + block_rows, m_before);
  for (int64_t r = 0; r < padded_rows; ++r) {
    const int64_t visible = r < rows ? visible_keys(g, k0, q0 + r) : 0;
    block_sums[r] = online_softmax_row<NV>(ws.s + r * block_keys, visible, ws.m[r]);
  }
  rescale_rows(m_before, ws.m, block_sums, ws.l, alpha);
  for (int64_t r0 = 0; r0 < padded_rows; r0 += row_group) {
    const float* p = ws.s + r0 * block_keys;
    float* o = ws.o + r0 * g.dv_padded;
    int64_t c = 0;
    for (; c + 4 * lanes <= g.dv_padded; c += 4 * lanes)
      value_tile_f32<4>(p, vt + c, g.dv_padded, width, o + c, g.dv_padded, alpha + r0);
    switch ((g.dv_padded - c) / lanes) {
      case 1:
        value_tile_f32<1>(p, vt + c, g.dv_padded, width, o + c, g.dv_padded, alpha + r0);
        break;
      case 2:
        value_tile_f32<2>(p, vt + c, g.dv_padded, width, o + c, g.dv_padded, alpha + r0);
        break;
      case 3:
        value_tile_f32<3>(p, vt + c, g.dv_padded, width, o + c, g.dv_padded, alpha + r0);
        break;
      default:
        break;
    }
  }
}

CROWDIFF_CPU_CLONES void attend_block_f32(const attention_geometry& g, const float* q, int64_t q0,
                                          int64_t rows, const float* k_packed, const float* v_packed,
                                          float* out, const attention_workspace& ws) {
  const int64_t padded_rows = round_up(rows, row_group);
  auto* qs = static_cast<float*>(ws.q);
  for (int64_t r = 0; r < padded_rows; ++r) {
    for (int64_t t = 0; t < g.d; ++t)
      qs[r * g.d + t] = r < rows ? q[r * g.ld_qk + t] * g.scale : 0.0f;
    std::fill(ws.o + r * g.dv_padded, ws.o + (r + 1) * g.dv_padded, 0.0f);
  }
  std::fill(ws.m, ws.m + block_rows, -std::numeric_limits<float>::infinity());
  std::fill(ws.l, ws.l + block_rows, 0.0f);
  alignas(64) float alpha[block_rows];
  const int64_t last_row = q0 + rows - 1;
  for (int64_t kb = 0; kb < g.key_blocks; ++kb) {
    const int64_t k0 = kb * block_keys;
    if (g.causal && k0 > last_row)
      break;  // every later key is masked for every row of this block
    const float* kt = k_packed + kb * g.k_tile;
    const float* vt = v_packed + kb * g.v_tile;
    switch (round_up(std::min(block_keys, g.lk - k0), lanes) / lanes) {
      case 1:
        key_block_f32<1>(g, ws, qs, rows, q0, k0, kt, vt, alpha);
        break;
      case 2:
        key_block_f32<2>(g, ws, qs, rows, q0, k0, kt, vt, alpha);
        break;
      case 3:
        key_block_f32<3>(g, ws, qs, rows, q0, k0, kt, vt, alpha);
        break;
      default:
        key_block_f32<4>(g, ws, qs, rows, q0, k0, kt, vt, alpha);
        break;
    }
  }
  finish_rows(g, ws, rows, out);
}

}  // namespace

status attention(const attention_params& p, cpu_env& env) {
  if (p.lq == 0)
    return status::ok();
  const bool bf16 = env.compute == dtype::bf16 && env.bf16_dot;
  attention_geometry g;
  g.lq = p.lq;
  g.lk = p.lk;
  g.d = p.head_dim;
  g.dv = p.head_dim_v;
  g.d_pairs = (p.head_dim + 1) / 2;
  g.dv_padded = round_up(p.head_dim_v, lanes);
  g.ld_qk = p.heads * p.head_dim;
  g.ld_v = p.heads * p.head_dim_v;
  g.key_blocks = (p.lk + block_keys - 1) / block_keys;
  g.k_tile = (bf16 ? g.d_pairs : g.d) * block_keys;
  g.v_tile = (bf16 ? block_keys / 2 : block_keys) * g.dv_padded;
  g.scale = p.scale;
  g.causal = p.causal;

  // Packed K and V for every head, then per-thread workspaces; all 4-byte words.
  const int64_t heads = p.batch * p.heads;
  const int64_t per_head = g.key_blocks * (g.k_tile + g.v_tile);
  const int threads = omp_get_max_threads();
  const int64_t q_words = block_rows * std::max(g.d, g.d_pairs);
  const int64_t per_thread = block_rows * g.dv_padded + block_rows * block_keys + q_words +
                             block_rows * (block_keys / 2) + 2 * block_rows;
  auto packed = scratch_block(env.scratch, static_cast<size_t>(heads * per_head) * 4);
  if (!packed)
    return packed.error();
  auto workspace = scratch_block(env.scratch, static_cast<size_t>(threads * per_thread) * 4);
  if (!workspace)
    return workspace.error();
  auto* words = static_cast<uint32_t*>((*packed)->data());
  auto* work = static_cast<float*>((*workspace)->data());

  const float* q = p.q.data_as<float>();
  const float* k = p.k.data_as<float>();
  const float* v = p.v.data_as<float>();
  float* out = p.out.mutable_data_as<float>();
  // Base offsets of head h of batch b in q/k (row stride ld_qk) and v/out (ld_v).
  const auto qk_head = [&](int64_t bh, int64_t rows) {
    return bh / p.heads * rows * g.ld_qk + bh % p.heads * g.d;
  };
  const auto v_head = [&](int64_t bh, int64_t rows) {
    return bh / p.heads * rows * g.ld_v + bh % p.heads * g.dv;
  };

  parallel_for(heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) {
      uint32_t* kp = words + bh * per_head;
      uint32_t* vp = kp + g.key_blocks * g.k_tile;
      if (bf16)
        pack_head_bf16(g, k + qk_head(bh, p.lk), v + v_head(bh, p.lk), kp, vp);
      else
        pack_head_f32(g, k + qk_head(bh, p.lk), v + v_head(bh, p.lk), reinterpret_cast<float*>(kp),
                      reinterpret_cast<float*>(vp));
    }
  });

  const int64_t query_blocks = (p.lq + block_rows - 1) / block_rows;
  parallel_for_each(heads * query_blocks, [&](int64_t task) {
    const int64_t bh = task / query_blocks, q0 = task % query_blocks * block_rows;
    const int64_t rows = std::min(block_rows, p.lq - q0);
    float* base = work + omp_get_thread_num() * per_thread;
    attention_workspace ws;
    ws.o = base;
    ws.s = ws.o + block_rows * g.dv_padded;
    ws.q = ws.s + block_rows * block_keys;
    ws.p = reinterpret_cast<uint32_t*>(ws.s + block_rows * block_keys + q_words);
    ws.m = reinterpret_cast<float*>(ws.p + block_rows * (block_keys / 2));
    ws.l = ws.m + block_rows;
    const uint32_t* kp = words + bh * per_head;
    const uint32_t* vp = kp + g.key_blocks * g.k_tile;
    const float* q_rows = q + qk_head(bh, p.lq) + q0 * g.ld_qk;
    float* out_rows = out + v_head(bh, p.lq) + q0 * g.ld_v;
    if (bf16)
      attend_block_bf16(g, q_rows, q0, rows, kp, vp, out_rows, ws);
    else
      attend_block_f32(g, q_rows, q0, rows, reinterpret_cast<const float*>(kp),
                       reinterpret_cast<const float*>(vp), out_rows, ws);
  });
  return status::ok();
}

}  // namespace crowdiff::kernels::cpu::detail
