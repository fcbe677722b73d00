// Ops that move elements without arithmetic: concat, permute, slice, nearest upsample, embedding lookup.
// They copy bytes, so they work for any element size.

#include <algorithm>
#include <cstring>

#include "kernels/cpu/detail/convert.hpp"
#include "kernels/cpu/detail/ops.hpp"
#include "kernels/cpu/detail/parallel.hpp"

namespace crowdiff::kernels::cpu::detail {

namespace {

constexpr int64_t grain_bytes = 1 << 16;

// out[b][c][r] = in[b][r][c] for `rows` x `cols` matrices, in 32 x 32 tiles so that both sides stay in cache.
template <class T>
void transpose_batches(const T* in, T* out, int64_t batches, int64_t rows, int64_t cols) {
  constexpr int64_t tile = 32;
  const int64_t row_tiles = (rows + tile - 1) / tile;
  parallel_for(batches * row_tiles,
               std::max<int64_t>(1, grain_bytes / (tile * cols * static_cast<int64_t>(sizeof(T)) + 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t task = begin; task < end; ++task) {
                   const int64_t b = task / row_tiles, r0 = task % row_tiles * tile;
                   const int64_t r1 = std::min(rows, r0 + tile);
                   const T* src = in + b * rows * cols;
                   T* dst = out + b * rows * cols;
                   for (int64_t c0 = 0; c0 < cols; c0 += tile) {
                     const int64_t c1 = std::min(cols, c0 + tile);
                     for (int64_t c = c0; c < c1; ++c)
                       for (int64_t r = r0; r < r1; ++r)
                         dst[c * rows + r] = src[r * cols + c];
                   }
                 }
               });
}

// Any permutation: walk the output in order, reading the input through its strides.
void permute_generic(const char* in, char* out, size_t element, int rank, const int64_t* extents,
                     const int64_t* in_strides) {
  int64_t total = 1;
  for (int d = 0; d < rank; ++d)
    total *= extents[d];
  const int64_t inner = extents[rank - 1], inner_stride = in_strides[rank - 1];
  const int64_t rows = total / std::max<int64_t>(1, inner);
  parallel_for(
      rows, std::max<int64_t>(1, grain_bytes / std::max<int64_t>(1, inner * static_cast<int64_t>(element))),
      [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          int64_t rest = r, offset = 0;
          for (int d = rank - 2; d >= 0; --d) {
            offset += rest % extents[d] * in_strides[d];
            rest /= extents[d];
          }
          char* dst = out + r * inner * static_cast<int64_t>(element);
          if (inner_stride == 1) {
            std::memcpy(dst, in + offset * static_cast<int64_t>(element),
                        static_cast<size_t>(inner) * element);
            continue;
          }
          for (int64_t i = 0; i < inner; ++i)
            std::memcpy(dst + i * static_cast<int64_t>(element),
                        in + (offset + i * inner_stride) * static_cast<int64_t>(element), element);
        }
      });
}

}  // namespace

status concat(const concat_params& p) {
  const size_t element = dtype_size(p.out.dtype());
  const int64_t out_row = p.out.numel() / std::max<int64_t>(1, p.outer) * static_cast<int64_t>(element);
  auto* out = static_cast<char*>(p.out.mutable_data());
  parallel_for(p.outer, std::max<int64_t>(1, grain_bytes / std::max<int64_t>(1, out_row)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t o = begin; o < end; ++o) {
                   int64_t offset = 0;
                   for (const tensor& in : p.inputs) {
                     const int64_t row =
                         in.numel() / std::max<int64_t>(1, p.outer) * static_cast<int64_t>(element);
                     std::memcpy(out + o * out_row + offset, static_cast<const char*>(in.data()) + o * row,
                                 static_cast<size_t>(row));
                     offset += row;
                   }
                 }
               });
  return status::ok();
}

status permute(const permute_params& p) {
  if (p.out.numel() == 0)
    return status::ok();
  // Input strides per output dimension, then merge output neighbours that are also neighbours in the input.
  std::array<int64_t, shape::max_rank> in_strides{}, natural{}, extents{}, strides{};
  int64_t stride = 1;
  for (int d = p.rank - 1; d >= 0; --d) {
    natural[static_cast<size_t>(d)] = stride;
    stride *= p.x.size(d);
  }
  int rank = 0;
  for (int d = 0; d < p.rank; ++d) {
    const int64_t extent = p.out.size(d);
    const int64_t s = natural[static_cast<size_t>(p.perm[static_cast<size_t>(d)])];
    if (extent == 1)
      continue;
    if (rank > 0 && strides[static_cast<size_t>(rank - 1)] == s * extent) {
      extents[static_cast<size_t>(rank - 1)] *= extent;
      strides[static_cast<size_t>(rank - 1)] = s;
      continue;
    }
    extents[static_cast<size_t>(rank)] = extent;
    strides[static_cast<size_t>(rank)] = s;
    ++rank;
  }
  in_strides = strides;
  const size_t element = dtype_size(p.x.dtype());
  if (rank <= 1) {
    std::memcpy(p.out.mutable_data(), p.x.data(), p.x.nbytes());
    return status::ok();
  }
  // A batched 2-D transpose ([B, R, C] -> [B, C, R], e.g. NCHW <-> NHWC) gets the tiled copy.
  const int64_t cols = extents[static_cast<size_t>(rank - 2)], rows = extents[static_cast<size_t>(rank - 1)];
  const bool transpose = in_strides[static_cast<size_t>(rank - 1)] == cols &&
                         in_strides[static_cast<size_t>(rank - 2)] == 1 &&
                         (rank == 2 || (rank == 3 && in_strides[0] == rows * cols));
  if (transpose && element == 4) {
    transpose_batches(p.x.data_as<uint32_t>(), p.out.mutable_data_as<uint32_t>(), rank == 3 ? extents[0] : 1,
                      rows, cols);
    return status::ok();
  }
  if (transpose && element == 2) {
    transpose_batches(p.x.data_as<uint16_t>(), p.out.mutable_data_as<uint16_t>(), rank == 3 ? extents[0] : 1,
                      rows, cols);
    return status::ok();
  }
  permute_generic(static_cast<const char*>(p.x.data()), static_cast<char*>(p.out.mutable_data()), element,
                  rank, extents.data(), in_strides.data());
  return status::ok();
}

status slice(const slice_params& p) {
  const auto element = static_cast<int64_t>(dtype_size(p.x.dtype()));
  const int64_t in_row = p.extent * p.inner * element, out_row = p.length * p.inner * element;
  const auto* in = static_cast<const char*>(p.x.data()) + p.start * p.inner * element;
  auto* out = static_cast<char*>(p.out.mutable_data());
  parallel_for(p.outer, std::max<int64_t>(1, grain_bytes / std::max<int64_t>(1, out_row)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t o = begin; o < end; ++o)
                   std::memcpy(out + o * out_row, in + o * in_row, static_cast<size_t>(out_row));
               });
  return status::ok();
}

status upsample(const upsample_params& p) {
  const float* in = p.x.data_as<float>();
  float* out = p.out.mutable_data_as<float>();
  const int64_t ow = p.w * p.factor, oh = p.h * p.factor;
  parallel_for(p.planes * p.h, std::max<int64_t>(1, grain_bytes / (4 * ow * p.factor)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t task = begin; task < end; ++task) {
                   const int64_t plane = task / p.h, y = task % p.h;
                   const float* src = in + (plane * p.h + y) * p.w;
                   float* dst = out + (plane * oh + y * p.factor) * ow;
                   for (int64_t x = 0; x < p.w; ++x)
                     for (int64_t copy = 0; copy < p.factor; ++copy)
                       dst[x * p.factor + copy] = src[x];
                   for (int64_t copy = 1; copy < p.factor; ++copy)
                     std::memcpy(dst + copy * ow, dst, static_cast<size_t>(ow) * sizeof(float));
                 }
               });
  return status::ok();
}

status embedding(const embedding_params& p, cpu_env&) {
  for (int64_t i = 0; i < p.count; ++i) {
    const int64_t id =
        p.ids.dtype() == dtype::i32 ? p.ids.data_as<int32_t>()[i] : p.ids.data_as<int64_t>()[i];
    if (id < 0 || id >= p.vocab)
      return {errc::invalid_argument, "embedding: id " + std::to_string(id) + " outside a table of " +
                                          std::to_string(p.vocab) + " rows"};
  }
  const auto table_row = static_cast<int64_t>(dtype_size(p.table.dtype())) * p.dim;
  for (int64_t i = 0; i < p.count; ++i) {
    const int64_t id =
        p.ids.dtype() == dtype::i32 ? p.ids.data_as<int32_t>()[i] : p.ids.data_as<int64_t>()[i];
    convert(static_cast<const char*>(p.table.data()) + id * table_row, p.table.dtype(),
            p.out.mutable_data_as<float>() + i * p.dim, dtype::f32, p.dim);
  }
  return status::ok();
}

}  // namespace crowdiff::kernels::cpu::detail
