#pragma once

// Data movement kernels: permute (a tiled transpose for the common [B, R, C] -> [B, C, R], a gather for the
// rest), nearest upsampling, zero padding, embedding lookup and dtype conversion. Moves are bit-exact.

#include <cstdint>

#include "kernels/cuda/detail/device_primitives.cuh"
#include "kernels/cuda/detail/element.cuh"
#include "kernels/cuda/detail/kernel_args.hpp"
#include "kernels/cuda/detail/pointwise_kernels.cuh"

namespace crowdiff::kernels::cuda {

/// Unsigned integers of 2, 4 and 8 bytes stand for elements of that size.
template <int Bytes>
struct element_bits;
template <>
struct element_bits<2> {
  using type = uint16_t;
};
template <>
struct element_bits<4> {
  using type = uint32_t;
};
template <>
struct element_bits<8> {
  using type = uint64_t;
};

/// Transpose tiles: 32 x 32 elements per block of 256 threads (each thread moves 4).
inline constexpr int transpose_tile = 32;
inline launch_dims transpose_dims(int64_t batch, int64_t rows, int64_t cols) {
  return {static_cast<unsigned>((cols + transpose_tile - 1) / transpose_tile),
          static_cast<unsigned>((rows + transpose_tile - 1) / transpose_tile), static_cast<unsigned>(batch),
          256, 0};
}

/// x [batch, rows, cols] -> out [batch, cols, rows] through a shared tile, so both sides are coalesced.
template <class E>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(256) void transpose_kernel(const E* x, E* out, int64_t rows,
                                                                  int64_t cols) {
  CROWDIFF_SHARED E tile[transpose_tile][transpose_tile + 1];
  const int64_t c0 = static_cast<int64_t>(block_x()) * transpose_tile;
  const int64_t r0 = static_cast<int64_t>(block_y()) * transpose_tile;
  const int64_t plane = static_cast<int64_t>(block_z()) * rows * cols;
  const int tx = static_cast<int>(thread_x() % 32), ty = static_cast<int>(thread_x() / 32);
  for (int r = ty; r < transpose_tile; r += 8) {
    if (r0 + r < rows && c0 + tx < cols)
      tile[r][tx] = x[plane + (r0 + r) * cols + c0 + tx];
  }
  sync_threads();
  for (int c = ty; c < transpose_tile; c += 8) {
    if (c0 + c < cols && r0 + tx < rows)
      out[plane + (c0 + c) * rows + r0 + tx] = tile[tx][c];
  }
}

/// The general permute: each output element gathers its input element.
template <class E>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(pointwise_threads) void permute_kernel(const permute_args a) {
  using namespace pointwise_detail;
  const E* x = static_cast<const E*>(a.x);
  E* out = static_cast<E*>(a.out);
  for (int64_t i = first_item(1); i < a.count; i += item_stride(1)) {
    int64_t rest = i, offset = 0;
    for (int k = a.rank - 1; k >= 0; --k) {
      const int64_t q = rest / a.out_dims[k];
      offset += (rest - q * a.out_dims[k]) * a.x_strides[k];
      rest = q;
    }
    out[i] = x[offset];
  }
}

CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(pointwise_threads) void upsample_kernel(const upsample_args a) {
  using namespace pointwise_detail;
  const auto* x = static_cast<const uint16_t*>(a.x);
  auto* out = static_cast<uint16_t*>(a.out);
  const int64_t oh = a.h * a.factor, ow = a.w * a.factor, count = a.planes * oh * ow;
  for (int64_t i = first_item(1); i < count; i += item_stride(1)) {
    const int64_t xo = i % ow, rest = i / ow, yo = rest % oh, p = rest / oh;
    out[i] = x[(p * a.h + yo / a.factor) * a.w + xo / a.factor];
  }
}

CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(pointwise_threads) void pad_kernel(const pad_args a) {
  using namespace pointwise_detail;
  const auto* x = static_cast<const uint16_t*>(a.x);
  auto* out = static_cast<uint16_t*>(a.out);
  const int64_t oh = a.h + a.top + a.bottom, ow = a.w + a.left + a.right, count = a.planes * oh * ow;
  for (int64_t i = first_item(1); i < count; i += item_stride(1)) {
    const int64_t xo = i % ow, rest = i / ow, yo = rest % oh, p = rest / oh;
    const int64_t yi = yo - a.top, xi = xo - a.left;
    out[i] = yi >= 0 && yi < a.h && xi >= 0 && xi < a.w ? x[(p * a.h + yi) * a.w + xi] : uint16_t{0};
  }
}

CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(pointwise_threads) void embedding_kernel(const embedding_args a) {
  using namespace pointwise_detail;
  const int64_t total = a.count * a.dim;
  for (int64_t i = first_item(1); i < total; i += item_stride(1)) {
    const int64_t r = i / a.dim, col = i - r * a.dim;
    const int64_t id =
        a.ids_i64 ? static_cast<const int64_t*>(a.ids)[r] : static_cast<const int32_t*>(a.ids)[r];
    store_any(a.out, a.out_type, i, load_any(a.table, a.table_type, id * a.dim + col));
  }
}

CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(pointwise_threads) void convert_kernel(const convert_args a) {
  using namespace pointwise_detail;
  for (int64_t i = first_item(1); i < a.count; i += item_stride(1))
    store_any(a.out, a.out_type, i, load_any(a.x, a.x_type, i));
}

}  // namespace crowdiff::kernels::cuda
