#pragma once

// Tile configuration of the fused attention kernel, per padded head dim.

#include <cstddef>

namespace crowdiff::kernels::cuda {

/// The head-dim buckets the kernel is instantiated for: 40 -> 48, 64, 80, 128, 160. A head dim (of q/k or
/// of v, whichever is larger) runs in the smallest bucket that holds it, zero-padded; over 160 the kernel
/// does not apply (the blocked path takes over).
inline constexpr int flash_max_head_dim = 160;
constexpr int flash_bucket(int head_dim) {
  return head_dim <= 48 ? 48 : head_dim <= 64 ? 64 : head_dim <= 80 ? 80 : head_dim <= 128 ? 128 : 160;
}

/// One block: 4 warps, each owning 16 query rows (64 per block); keys walked in tiles of 64.
/// Shared memory: two stages of (K tile, V tile), each tile 64 rows of `Dp` elements padded by 8 so that
/// ldmatrix rows fall in distinct banks; the Q tile is staged in the second stage before the loop.
template <int Dp>
struct flash_traits {
  static_assert(Dp % 16 == 0 && Dp <= 160, "head dim bucket must be a multiple of 16, at most 160");
  static constexpr int head_dim = Dp;
  static constexpr int warps = 4;
  static constexpr int threads = warps * 32;
  static constexpr int block_m = 16 * warps;
  static constexpr int block_n = 64;
  static constexpr int row_stride = Dp + 8;  ///< elements between rows of a shared tile
  static constexpr int tile_elements = 64 * row_stride;
  static constexpr size_t shared_bytes = 4 * tile_elements * 2;  ///< K0, V0, K1, V1 in 16-bit elements
  static constexpr int k_steps = Dp / 16;                        ///< 16-wide steps along the head dim
  static constexpr int dv_tiles = Dp / 8;                        ///< 8-wide output column tiles
  static constexpr int key_tiles = block_n / 8;                  ///< 8-wide score column tiles
};

}  // namespace crowdiff::kernels::cuda
