#pragma once

// Normalization kernels. Group norm runs in two launches so that a group (up to ~160k elements in an SD UNet)
// is spread over many blocks: each block reduces one slice of a group to (count, mean, M2), then each block
// merges its group's slices (Chan's formula) and normalizes its slice, with the affine parameters and SiLU
// fused. Layer norm and softmax take one warp per row. Statistics are two-pass in f32.

#include <cmath>

#include "kernels/cuda/detail/device_primitives.cuh"
#include "kernels/cuda/detail/element.cuh"
#include "kernels/cuda/detail/kernel_args.hpp"
#include "kernels/cuda/detail/reduce.cuh"

namespace crowdiff::kernels::cuda {

inline constexpr unsigned group_norm_threads = 256;
inline constexpr unsigned rows_per_block = 4;  // layer norm and softmax: one warp per row

inline launch_dims group_norm_dims(const group_norm_args& a) {
  return {static_cast<unsigned>(a.n * a.groups), static_cast<unsigned>(a.splits), 1, group_norm_threads, 0};
}
inline launch_dims row_dims(int64_t rows) {
  return {static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block), 1, 1, 32 * rows_per_block, 0};
}

namespace norm_detail {

/// Elements [begin, end) of a group's `total` that slice `s` of `splits` covers; slices start on multiples
/// of 8 so that 16-byte chunks never straddle two slices.
CROWDIFF_DEVICE void slice_of(int64_t total, int splits, int s, int64_t& begin, int64_t& end) {
  int64_t per = (total + splits - 1) / splits;
  per = (per + 7) / 8 * 8;
  begin = s * per < total ? s * per : total;
  end = begin + per < total ? begin + per : total;
}

CROWDIFF_DEVICE float silu(float y) {
  return y / (1.0f + expf(-y));
}

}  // namespace norm_detail

/// Pass 1: (count, mean, M2) of slice block_y() of group block_x() into a.stats.
template <class T, int V>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(group_norm_threads) void group_norm_stats_kernel(
    const group_norm_args a) {
  CROWDIFF_SHARED float scratch[32];
  const int64_t group = block_x();
  const int64_t total = a.c / a.groups * a.spatial;
  int64_t begin, end;
  norm_detail::slice_of(total, a.splits, static_cast<int>(block_y()), begin, end);
  const T* x = static_cast<const T*>(a.x) + group * total;
  const int64_t step = static_cast<int64_t>(block_dim_x()) * V;

  float sum = 0.0f;
  for (int64_t i = begin + thread_x() * V; i < end; i += step) {
    if constexpr (V == 8) {
      float v[8];
      load8(x + i, v);
      for (float e : v)
        sum += e;
    } else {
      sum += to_f32(x[i]);
    }
  }
  const float count = static_cast<float>(end - begin);
  const float mean = count > 0 ? block_sum(sum, scratch) / count : 0.0f;
  float m2 = 0.0f;
  for (int64_t i = begin + thread_x() * V; i < end; i += step) {
    if constexpr (V == 8) {
      float v[8];
      load8(x + i, v);
      for (float e : v)
        m2 += (e - mean) * (e - mean);
    } else {
      const float d = to_f32(x[i]) - mean;
      m2 += d * d;
    }
  }
  m2 = block_sum(m2, scratch);
  if (thread_x() == 0) {
    float* st = a.stats + (group * a.splits + block_y()) * 3;
    st[0] = count;
    st[1] = mean;
    st[2] = m2;
  }
}

/// Pass 2: merges group block_x()'s slices and normalizes slice block_y() (affine, then SiLU when asked).
template <class T, int V>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(group_norm_threads) void group_norm_apply_kernel(
    const group_norm_args a) {
  const int64_t group = block_x();
  const int64_t channels_per_group = a.c / a.groups;
  const int64_t total = channels_per_group * a.spatial;
  const float* st = a.stats + group * a.splits * 3;
  float n_acc = 0.0f, mean = 0.0f, m2 = 0.0f;
  for (int s = 0; s < a.splits; ++s) {
    const float nb = st[3 * s];
    if (nb == 0.0f)
      continue;
    const float delta = st[3 * s + 1] - mean;
    const float n_new = n_acc + nb;
    mean += delta * nb / n_new;
    m2 += st[3 * s + 2] + delta * delta * n_acc * nb / n_new;
    n_acc = n_new;
  }
  const float rstd = 1.0f / sqrtf(m2 / static_cast<float>(total) + a.eps);

  int64_t begin, end;
  norm_detail::slice_of(total, a.splits, static_cast<int>(block_y()), begin, end);
  const T* x = static_cast<const T*>(a.x) + group * total;
  T* out = static_cast<T*>(a.out) + group * total;
  const int64_t channel0 = group % a.groups * channels_per_group;
  const int64_t step = static_cast<int64_t>(block_dim_x()) * V;
  for (int64_t i = begin + thread_x() * V; i < end; i += step) {
    const int64_t ch = channel0 + i / a.spatial;  // a 16-byte chunk lies in one channel (spatial % 8 == 0)
    const float g = a.gamma.data ? load_any(a.gamma.data, a.gamma.type, ch) * rstd : rstd;
    const float b = a.beta.data ? load_any(a.beta.data, a.beta.type, ch) : 0.0f;
    float v[V];
    if constexpr (V == 8) {
      load8(x + i, v);
    } else {
      v[0] = to_f32(x[i]);
    }
    for (float& e : v) {
      e = (e - mean) * g + b;
      if (a.silu)
        e = norm_detail::silu(e);
    }
    if constexpr (V == 8) {
      store8(out + i, v);
    } else {
      out[i] = from_f32<T>(v[0]);
    }
  }
}

/// One warp per row of x [rows, dim]: (x - mean) / sqrt(var + eps) * gamma + beta.
template <class T, int V>
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(32 * rows_per_block) void layer_norm_kernel(const layer_norm_args a) {
  const int64_t row = static_cast<int64_t>(block_x()) * rows_per_block + thread_x() / 32;
  if (row >= a.rows)
    return;  // the whole warp: no block-wide barrier follows
  const int lane = static_cast<int>(thread_x() % 32);
  const T* x = static_cast<const T*>(a.x) + row * a.dim;
  T* out = static_cast<T*>(a.out) + row * a.dim;
  float sum = 0.0f;
  for (int64_t i = lane * V; i < a.dim; i += 32 * V) {
    if constexpr (V == 8) {
      float v[8];
      load8(x + i, v);
      for (float e : v)
        sum += e;
    } else {
      sum += to_f32(x[i]);
    }
  }
  const float mean = warp_sum(sum) / static_cast<float>(a.dim);
  float m2 = 0.0f;
  for (int64_t i = lane * V; i < a.dim; i += 32 * V) {
    if constexpr (V == 8) {
      float v[8];
      load8(x + i, v);
      for (float e : v)
        m2 += (e - mean) * (e - mean);
    } else {
      const float d = to_f32(x[i]) - mean;
      m2 += d * d;
    }
  }
  const float rstd = 1.0f / sqrtf(warp_sum(m2) / static_cast<float>(a.dim) + a.eps);
  for (int64_t i = lane * V; i < a.dim; i += 32 * V) {
    float v[V];
    if constexpr (V == 8) {
      load8(x + i, v);
    } else {
      v[0] = to_f32(x[i]);
    }
    for (int e = 0; e < V; ++e) {
      float y = (v[e] - mean) * rstd;
      if (a.gamma.data)
        y *= load_any(a.gamma.data, a.gamma.type, i + e);
      if (a.beta.data)
        y += load_any(a.beta.data, a.beta.type, i + e);
      v[e] = y;
    }
    if constexpr (V == 8) {
      store8(out + i, v);
    } else {
      out[i] = from_f32<T>(v[0]);
    }
  }
}

/// One warp per row: out = softmax(scale * x) over the row, f32 inside. x and out may alias (same dtype).
CROWDIFF_KERNEL CROWDIFF_LAUNCH_BOUNDS(32 * rows_per_block) void softmax_kernel(const softmax_args a) {
  const int64_t row = static_cast<int64_t>(block_x()) * rows_per_block + thread_x() / 32;
  if (row >= a.rows)
    return;
  const int lane = static_cast<int>(thread_x() % 32);
  const int64_t xo = row * a.x_row_stride, oo = row * a.out_row_stride;
  const int64_t visible = a.causal ? row % a.rows_per_head + a.query0 + 1 : a.cols;  // columns [0, visible)
  const int64_t cols = visible < a.cols ? visible : a.cols;
  float mx = -INFINITY;
  for (int64_t i = lane; i < cols; i += 32)
    mx = fmaxf(mx, a.scale * load_any(a.x, a.x_type, xo + i));
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int64_t i = lane; i < cols; i += 32)
    sum += expf(a.scale * load_any(a.x, a.x_type, xo + i) - mx);
  const float inv = 1.0f / warp_sum(sum);
  for (int64_t i = lane; i < a.cols; i += 32) {
    const float prob = i < cols ? expf(a.scale * load_any(a.x, a.x_type, xo + i) - mx) * inv : 0.0f;
    store_any(a.out, a.out_type, oo + i, prob);
  }
}

}  // namespace crowdiff::kernels::cuda
