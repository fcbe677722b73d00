#pragma once

// Plain descriptions of the hand-written kernels' launches (besides attention's flash_params), filled by the
// host code in ops.cpp from validated op params and read by the kernel headers. Pointers are device pointers
// (host pointers under the test emulation); counts are elements.

#include <array>
#include <cstdint>

#include "kernels/dtype.hpp"

namespace crowdiff::kernels::cuda {

/// An optional per-channel parameter of any float dtype (nullptr: absent).
struct param_ref {
  const void* data = nullptr;
  dtype type = dtype::f32;
};

/// Group norm over x [n, c, spatial] in `groups` groups: statistics in `splits` slices per group, combined.
struct group_norm_args {
  const void* x = nullptr;
  void* out = nullptr;
  param_ref gamma, beta;
  float* stats = nullptr;  ///< workspace: 3 floats (count, mean, M2) per slice, n * groups * splits slices
  int64_t n = 0, c = 0, groups = 0, spatial = 0;
  int splits = 1;
  float eps = 1e-5f;
  bool silu = false;
  bool vector = false;  ///< 16-byte accesses: x, out aligned, spatial a multiple of 8
};

/// Layer norm of x viewed [rows, dim], one warp per row.
struct layer_norm_args {
  const void* x = nullptr;
  void* out = nullptr;
  param_ref gamma, beta;
  int64_t rows = 0, dim = 0;
  float eps = 1e-5f;
  bool vector = false;  ///< x, out aligned to 16 bytes and dim a multiple of 8
};

/// Softmax over the last dimension of x viewed [rows, cols], one warp per row; x and out may be of different
/// float dtypes (the blocked attention reads f32 scores and writes f16/bf16 probabilities), and alias when
/// equal. `scale` multiplies x first.
struct softmax_args {
  const void* x = nullptr;
  void* out = nullptr;
  dtype x_type = dtype::f16, out_type = dtype::f16;
  int64_t rows = 0, cols = 0;
  int64_t x_row_stride = 0, out_row_stride = 0;
  float scale = 1.0f;
  /// Causal masking for the blocked attention: row r is query (r % rows_per_head) + query0 and sees columns
  /// (keys) up to it.
  bool causal = false;
  int64_t rows_per_head = 1, query0 = 0;
};

/// Pointwise ops over `count` elements of the activation dtype.
enum class pointwise_op : uint8_t { silu, gelu, gelu_tanh, quick_gelu, scale };
struct pointwise_args {
  const void* x = nullptr;
  void* out = nullptr;
  int64_t count = 0;
  pointwise_op op = pointwise_op::silu;
  float alpha = 1.0f, beta = 0.0f;  ///< for scale
  bool vector = false;              ///< x, out aligned to 16 bytes and count a multiple of 8
};

/// out[r, j] = x[r, j] * gelu(x[r, half + j]).
struct geglu_args {
  const void* x = nullptr;
  void* out = nullptr;
  int64_t rows = 0, half = 0;
};

/// out = a (op) b over `rank` collapsed dimensions with b's element strides (0 where broadcast).
struct binary_args {
  const void* a = nullptr;
  const void* b = nullptr;
  void* out = nullptr;
  bool mul = false;
  int rank = 1;
  std::array<int64_t, 6> dims{};
  std::array<int64_t, 6> b_strides{};
  int64_t count = 0;
};

/// out = x with dimensions reordered, for elements of `element_bytes` (2, 4 or 8) bytes.
struct permute_args {
  const void* x = nullptr;
  void* out = nullptr;
  int element_bytes = 2;
  int rank = 1;
  std::array<int64_t, 6> out_dims{};
  std::array<int64_t, 6> x_strides{};  ///< x's stride of the dimension that becomes out dimension i
  int64_t count = 0;
};

/// Nearest-neighbour upsampling of 16-bit elements: x [planes, h, w] -> out [planes, h * f, w * f].
struct upsample_args {
  const void* x = nullptr;
  void* out = nullptr;
  int64_t planes = 0, h = 0, w = 0, factor = 2;
};

/// Zero padding of 16-bit NCHW images: x [planes, h, w] -> out [planes, h + top + bottom, w + left + right].
struct pad_args {
  const void* x = nullptr;
  void* out = nullptr;
  int64_t planes = 0, h = 0, w = 0, top = 0, bottom = 0, left = 0, right = 0;
};

/// out[i, :] = table[ids[i], :] converted to out's dtype; ids checked beforehand.
struct embedding_args {
  const void* ids = nullptr;
  bool ids_i64 = false;
  const void* table = nullptr;
  dtype table_type = dtype::f32;
  void* out = nullptr;
  dtype out_type = dtype::f16;
  int64_t count = 0, dim = 0;
};

/// out[i] = x[i] between float dtypes.
struct convert_args {
  const void* x = nullptr;
  dtype x_type = dtype::f32;
  void* out = nullptr;
  dtype out_type = dtype::f16;
  int64_t count = 0;
};

/// out[o, c, i] += bias[c] for out viewed [outer, channels, inner] (activation dtype; bias any float dtype):
/// the bias of convolutions that cuDNN did not fuse.
struct bias_args {
  void* out = nullptr;
  param_ref bias;
  int64_t outer = 0, channels = 0, inner = 0;  ///< out viewed [outer, channels, inner]
};

}  // namespace crowdiff::kernels::cuda
