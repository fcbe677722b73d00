#pragma once

// The validated, plain descriptions of each op that `backend` hands to a backend implementation. Models do
// not use these: they call `backend`'s public ops, which build a params struct (checking shapes and dtypes
// once, for every backend) and pass it to the backend's `run_*`. Every tensor here is defined, dense (or
// packed by the running backend, for weights), and on the backend's device; `out` is writable, already
// allocated, and does not overlap an input unless the op says so.

#include <array>
#include <cstdint>
#include <span>

#include "kernels/ops.hpp"
#include "kernels/shape.hpp"
#include "kernels/tensor.hpp"

namespace crowdiff::kernels {

/// out[m, n] = sum_k x[m, k] * w[n, k] + bias[n]. x is [.., K] flattened to [m, k]; w [n, k] (PyTorch
/// Linear layout) in any float dtype or packed; bias [n] or undefined.
struct linear_params {
  tensor x, w, bias, out;
  int64_t m = 0, k = 0, n = 0;
};

/// out[b] = alpha * a[b] @ op(b[b or 0]) for b < batch; a [batch, m, k]; b [batch_b, k, n] or, transposed,
/// [batch_b, n, k], with batch_b == batch or 1 (broadcast).
struct matmul_params {
  tensor a, b, out;
  int64_t batch = 1, batch_b = 1, m = 0, k = 0, n = 0;
  matmul_options options;
};

/// NCHW convolution, groups 1: x [n, c, h, w], weight [o, c, kh, kw] (or packed), bias [o] or undefined,
/// out [n, o, oh, ow].
struct conv2d_params {
  tensor x, weight, bias, out;
  int64_t n = 0, c = 0, h = 0, w = 0, o = 0, kh = 0, kw = 0, oh = 0, ow = 0;
  conv2d_options options;
};

/// Group norm of x [n, c, spatial...] viewed [n, groups, c/groups * spatial]; gamma, beta [c] or undefined;
/// then SiLU when `silu`.
struct group_norm_params {
  tensor x, gamma, beta, out;
  int64_t n = 0, c = 0, groups = 0, spatial = 0;
  float eps = 1e-5f;
  bool silu = false;
};

/// Layer norm over the last dimension of x viewed [rows, dim]; gamma, beta [dim] or undefined.
struct layer_norm_params {
  tensor x, gamma, beta, out;
  int64_t rows = 0, dim = 0;
  float eps = 1e-5f;
};

/// Scaled dot-product attention with the heads side by side in the last dimension, as a linear projection
/// writes them: q [batch, lq, heads * head_dim], k [batch, lk, heads * head_dim],
/// v [batch, lk, heads * head_dim_v], out [batch, lq, heads * head_dim_v]. `scale` is resolved (never 0).
struct attention_params {
  tensor q, k, v, out;
  int64_t batch = 0, heads = 0, lq = 0, lk = 0, head_dim = 0, head_dim_v = 0;
  float scale = 1.0f;
  bool causal = false;
};

/// Softmax over the last dimension of x viewed [rows, cols].
struct softmax_params {
  tensor x, out;
  int64_t rows = 0, cols = 0;
};

/// out = f(x) elementwise over `count` elements. out may be x itself.
struct activation_params {
  tensor x, out;
  int64_t count = 0;
  kernels::activation function = kernels::activation::silu;
};

/// x [rows, 2 * half] -> out [rows, half] = x[:, :half] * gelu(x[:, half:]) (exact GELU, as diffusers'
/// GEGLU).
struct geglu_params {
  tensor x, out;
  int64_t rows = 0, half = 0;
};

/// Nearest-neighbour upsampling of x [planes, h, w] (planes = n * c) by an integer factor.
struct upsample_params {
  tensor x, out;
  int64_t planes = 0, h = 0, w = 0, factor = 2;
};

/// out = a (op) b with b broadcast to a's shape. The shapes are collapsed to at most `shape::max_rank`
/// dimensions `dims` (out and a are dense over them) with b's element strides in `b_strides` (0 where b is
/// broadcast). out may be a itself.
struct binary_params {
  enum class kind : uint8_t { add, mul };
  tensor a, b, out;
  kind op = kind::add;
  int rank = 0;
  std::array<int64_t, shape::max_rank> dims{};
  std::array<int64_t, shape::max_rank> b_strides{};
};

/// out = alpha * x + beta, elementwise. out may be x itself.
struct scale_params {
  tensor x, out;
  int64_t count = 0;
  float alpha = 1.0f, beta = 0.0f;
};

/// out = the inputs joined along one dimension: each input viewed [outer, inner_i], out [outer, sum inner_i].
struct concat_params {
  std::span<const tensor> inputs;
  tensor out;
  int64_t outer = 0;
};

/// out = x with its dimensions reordered: out dimension i is x dimension perm[i].
struct permute_params {
  tensor x, out;
  int rank = 0;
  std::array<int, shape::max_rank> perm{};
};

/// out = x[.., start : start + length, ..] along one dimension; x viewed [outer, extent, inner].
struct slice_params {
  tensor x, out;
  int64_t outer = 0, extent = 0, inner = 0, start = 0, length = 0;
};

/// out[i] = table[ids[i]]: ids (i32 or i64) flattened to `count`; table [vocab, dim] in any float dtype.
/// An id outside [0, vocab) is an invalid_argument error.
struct embedding_params {
  tensor ids, table, out;
  int64_t count = 0, vocab = 0, dim = 0;
};

/// out = x converted to out's dtype (float dtypes), same shape.
struct convert_params {
  tensor x, out;
};

}  // namespace crowdiff::kernels
