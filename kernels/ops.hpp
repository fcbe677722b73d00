#pragma once

#include <cstdint>
#include <string_view>

namespace crowdiff::kernels {

/// The operations of the backend interface. Backends answer `supports(op_kind, dtype)` per entry.
enum class op_kind : uint8_t {
  convert,
  linear,
  matmul,
  conv2d,
  group_norm,
  layer_norm,
  attention,
  softmax,
  activation,
  geglu,
  upsample_nearest,
  add,
  mul,
  scale,
  concat,
  permute,
  slice,
  embedding,
};

/// Every op_kind, for loops in tests and capability tables.
inline constexpr op_kind all_op_kinds[] = {
    op_kind::convert,    op_kind::linear,     op_kind::matmul,           op_kind::conv2d,
    op_kind::group_norm, op_kind::layer_norm, op_kind::attention,        op_kind::softmax,
    op_kind::activation, op_kind::geglu,      op_kind::upsample_nearest, op_kind::add,
    op_kind::mul,        op_kind::scale,      op_kind::concat,           op_kind::permute,
    op_kind::slice,      op_kind::embedding,
};

std::string_view to_string(op_kind op);

/// Pointwise activation functions.
enum class activation : uint8_t {
  silu,        ///< x * sigmoid(x) (UNet, VAE).
  gelu,        ///< x * Phi(x) with the exact erf (OpenCLIP, the UNet feed-forward).
  gelu_tanh,   ///< The tanh approximation of GELU.
  quick_gelu,  ///< x * sigmoid(1.702 x) (OpenAI CLIP).
};

std::string_view to_string(activation a);

/// How a weight will be used, so that `prepare_weight` can pick the layout the op wants.
enum class weight_use : uint8_t {
  linear,     ///< [out, in] matrix of a `linear`.
  conv2d,     ///< [out, in, kh, kw] filter of a `conv2d`.
  embedding,  ///< [vocab, dim] table of an `embedding`.
  other,      ///< Read elementwise: biases, norm scales and shifts, positional embeddings.
};

/// Geometry of a 2-D convolution. Padding is per side so that the VAE encoder's asymmetric (0, 1, 0, 1)
/// padding needs no separate pad op.
struct conv2d_options {
  int64_t stride = 1;
  int64_t pad_top = 0;
  int64_t pad_bottom = 0;
  int64_t pad_left = 0;
  int64_t pad_right = 0;

  /// `pad` on every side, like PyTorch's `padding=pad`.
  static constexpr conv2d_options symmetric(int64_t stride, int64_t pad) {
    return {stride, pad, pad, pad, pad};
  }
};

/// Options of batched matmul.
struct matmul_options {
  bool transpose_b = false;  ///< b is [.., N, K] instead of [.., K, N].
  float alpha = 1.0f;        ///< out = alpha * (a @ b).
};

/// Options of scaled dot-product attention.
struct attention_options {
  float scale = 0.0f;   ///< Multiplies q.k; 0 means 1/sqrt(head_dim).
  bool causal = false;  ///< Query i sees keys j <= i only (CLIP's text encoder).
};

}  // namespace crowdiff::kernels
