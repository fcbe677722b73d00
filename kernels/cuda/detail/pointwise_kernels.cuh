#pragma once

// Elementwise kernels over the activation dtype: activations, alpha x + beta, GEGLU and broadcasting add/mul.
// Each thread takes 8 consecutive elements with 16-byte accesses where the args allow (`vector`), else one.

#include <cmath>

#include "kernels/cuda/detail/device_primitives.cuh"
#include "kernels/cuda/detail/element.cuh"
#include "kernels/cuda/detail/kernel_args.hpp"

namespace crowdiff::kernels::cuda {

inline constexpr unsigned pointwise_threads = 256;

/// Enough blocks for `items` work items of one thread each, capped (the kernels loop over the rest).
inline launch_dims pointwise_dims(int64_t items) {
  const int64_t blocks = (items + pointwise_threads - 1) / pointwise_threads;
  return {static_cast<unsigned>(blocks < 1           ? 1
                                : blocks > 65535 * 8 ? 65535 * 8
                                                     : blocks),
          1, 1, pointwise_threads, 0};
}

namespace pointwise_detail {

CROWDIFF_DEVICE float gelu_erf(float x) {
  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

CROWDIFF_DEVICE float apply(pointwise_op op, float x, float alpha, float beta) {
  switch (op) {
    case pointwise_op::silu:
      return x / (1.0f + expf(-x));
    case pointwise_op::gelu:
      return gelu_erf(x);
    case pointwise_op::gelu_tanh:
      return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case pointwise_op::quick_gelu:
      return x / (1.0f + expf(-1.702f * x));
    case pointwise_op::scale:
      return alpha * x + beta;
  }
  return x;
}

/// The first element this thread handles and the stride between its items, in elements.
CROWDIFF_DEVICE int64_t first_item(int v) {
  return (static_cast<int64_t>(block_x()) * block_dim_x() + thread_x()) * v;
}
CROWDIFF_DEVICE int64_t item_stride(int v) {
  return static_cast<int64_t>(grid_dim_x()) * block_dim_x() * v;
}

}  // namespace pointwise_detail

template <class T>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(pointwise_threads) void pointwise_kernel(const pointwise_args a) {
  using namespace pointwise_detail;
  const T* x = static_cast<const T*>(a.x);
  T* out = static_cast<T*>(a.out);
  if (a.vector) {
    for (int64_t i = first_item(8); i < a.count; i += item_stride(8)) {
      float v[8];
      load8(x + i, v);
      for (float& e : v)
        e = apply(a.op, e, a.alpha, a.beta);
      store8(out + i, v);
    }
    return;
  }
  for (int64_t i = first_item(1); i < a.count; i += item_stride(1))
    out[i] = from_f32<T>(apply(a.op, to_f32(x[i]), a.alpha, a.beta));
}

template <class T>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(pointwise_threads) void geglu_kernel(const geglu_args a) {
  using namespace pointwise_detail;
  const T* x = static_cast<const T*>(a.x);
  T* out = static_cast<T*>(a.out);
  const int64_t count = a.rows * a.half;
  for (int64_t i = first_item(1); i < count; i += item_stride(1)) {
    const int64_t r = i / a.half, j = i - r * a.half;
    const T* row = x + r * 2 * a.half;
    out[i] = from_f32<T>(to_f32(row[j]) * gelu_erf(to_f32(row[a.half + j])));
  }
}

/// b's element offset for out element i over the collapsed dimensions (no division for the outermost).
CROWDIFF_DEVICE int64_t broadcast_offset(const binary_args& a, int64_t i) {
  int64_t offset = 0;
  for (int k = a.rank - 1; k > 0; --k) {
    const int64_t q = i / a.dims[k];
    offset += (i - q * a.dims[k]) * a.b_strides[k];
    i = q;
  }
  return offset + i * a.b_strides[0];
}

/// out = a + b or a * b, b broadcast. With `V` = 8 the innermost extent is a multiple of 8 and b's innermost
/// stride is 0 or 1, so a chunk of 8 reads one b element or 8 consecutive ones.
template <class T, int V>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(pointwise_threads) void binary_kernel(const binary_args a) {
  using namespace pointwise_detail;
  const T* x = static_cast<const T*>(a.a);
  const T* y = static_cast<const T*>(a.b);
  T* out = static_cast<T*>(a.out);
  const bool b_contiguous = a.b_strides[a.rank - 1] == 1;
  for (int64_t i = first_item(V); i < a.count; i += item_stride(V)) {
    const int64_t bo = broadcast_offset(a, i);
    float u[V], w[V];
    if constexpr (V == 8) {
      load8(x + i, u);
      if (b_contiguous) {
        load8(y + bo, w);
      } else {
        for (float& e : w)
          e = to_f32(y[bo]);
      }
    } else {
      u[0] = to_f32(x[i]);
      w[0] = to_f32(y[bo]);
    }
    for (int e = 0; e < V; ++e)
      u[e] = a.mul ? u[e] * w[e] : u[e] + w[e];
    if constexpr (V == 8) {
      store8(out + i, u);
    } else {
      out[i] = from_f32<T>(u[0]);
    }
  }
}

/// out[o, c, i] += bias[c].
template <class T>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(pointwise_threads) void bias_kernel(const bias_args a) {
  using namespace pointwise_detail;
  T* out = static_cast<T*>(a.out);
  const int64_t count = a.outer * a.channels * a.inner;
  for (int64_t i = first_item(1); i < count; i += item_stride(1)) {
    const int64_t c = i / a.inner % a.channels;
    out[i] = from_f32<T>(to_f32(out[i]) + load_any(a.bias.data, a.bias.type, c));
  }
}

}  // namespace crowdiff::kernels::cuda
