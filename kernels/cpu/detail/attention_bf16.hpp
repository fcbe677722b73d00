#pragma once

#include <cstdint>

#include "kernels/cpu/detail/attention_tile.hpp"

namespace crowdiff::kernels::cpu::detail {

/// Whether this CPU has the AVX512-BF16 dot product the bf16 attention kernel is built on.
bool bf16_attention_available();

/// Packs one head's keys and values as bf16 pairs: K as [key block][d_pairs][width] (each word the pair
/// k[j][2t], k[j][2t+1]), V as [key block][width / 2][dv_padded] (each word v[2j][c], v[2j+1][c]), zero
/// beyond the data. `k`/`v` point at the head's first element. Requires bf16_attention_available().
void pack_head_bf16(const attention_geometry& g, const float* k, const float* v, uint32_t* k_packed,
                    uint32_t* v_packed);

/// One task of the bf16 kernel: query rows [q0, q0 + rows) of one head (q and out point at row q0's head),
/// products in bf16 with f32 accumulation. Requires bf16_attention_available().
void attend_block_bf16(const attention_geometry& g, const float* q, int64_t q0, int64_t rows,
                       const uint32_t* k_packed, const uint32_t* v_packed, float* out,
                       const attention_workspace& ws);

}  // namespace crowdiff::kernels::cpu::detail
