// Elementwise and row-wise ops: activations, GEGLU, softmax, scale and broadcast add/mul. Memory-bound, so
// each is one vectorized pass split over the threads.

#include <algorithm>
#include <limits>

#include "kernels/cpu/detail/ops.hpp"
#include "kernels/cpu/detail/parallel.hpp"
#include "kernels/cpu/detail/simd.hpp"

namespace crowdiff::kernels::cpu::detail {

namespace {

constexpr int64_t grain = 1 << 14;  // elements per thread below which splitting does not pay

// Functors rather than lambdas: a lambda's call operator is a separate function compiled for the baseline
// instruction set, and passing a 64-byte vector to it from an AVX-512 clone breaks the calling convention.
// An always-inline operator() is compiled inside its caller instead.
struct silu_fn {
  CROWDIFF_SIMD_INLINE vf operator()(vf v) const { return silu(v); }
};
struct gelu_fn {
  CROWDIFF_SIMD_INLINE vf operator()(vf v) const { return gelu(v); }
};
struct gelu_tanh_fn {
  CROWDIFF_SIMD_INLINE vf operator()(vf v) const { return gelu_tanh(v); }
};
struct quick_gelu_fn {
  CROWDIFF_SIMD_INLINE vf operator()(vf v) const { return quick_gelu(v); }
};
struct affine_fn {
  float alpha, beta;
  CROWDIFF_SIMD_INLINE vf operator()(vf v) const { return v * alpha + beta; }
};

template <class F>
CROWDIFF_SIMD_INLINE void map_row(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    store(y + i, f(load(x + i)));
  if (i < n)
    store_partial(y + i, f(load_partial(x + i, n - i)), n - i);
}

CROWDIFF_CPU_CLONES void activation_row(const float* x, float* y, int64_t n, kernels::activation f) {
  switch (f) {
    case kernels::activation::silu:
      map_row(x, y, n, silu_fn{});
      return;
    case kernels::activation::gelu:
      map_row(x, y, n, gelu_fn{});
      return;
    case kernels::activation::gelu_tanh:
      map_row(x, y, n, gelu_tanh_fn{});
      return;
    case kernels::activation::quick_gelu:
      map_row(x, y, n, quick_gelu_fn{});
      return;
  }
}

CROWDIFF_CPU_CLONES void geglu_row(const float* x, float* y, int64_t half) {
  const float* gate = x + half;
  int64_t i = 0;
  for (; i + lanes <= half; i += lanes)
    store(y + i, load(x + i) * gelu(load(gate + i)));
  if (i < half)
    store_partial(y + i, load_partial(x + i, half - i) * gelu(load_partial(gate + i, half - i)), half - i);
}

CROWDIFF_CPU_CLONES void softmax_row(const float* x, float* y, int64_t n) {
  vf vmax_acc = splat(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    vmax_acc = vmax(vmax_acc, load(x + i));
  float m = reduce_max(vmax_acc);
  for (; i < n; ++i)
    m = std::max(m, x[i]);
  vf sum = splat(0.0f);
  i = 0;
  for (; i + lanes <= n; i += lanes) {
    const vf e = exp(load(x + i) - m);
    store(y + i, e);
    sum += e;
  }
  if (i < n) {
    // Lanes past the end hold exp(0 - m) of the zero padding: mask them out of the sum.
    vf e = exp(load_partial(x + i, n - i) - m);
    for (int64_t lane = n - i; lane < lanes; ++lane)
      e[lane] = 0.0f;
    store_partial(y + i, e, n - i);
    sum += e;
  }
  const float inv = 1.0f / reduce_add(sum);
  map_row(y, y, n, affine_fn{inv, 0.0f});
}

CROWDIFF_CPU_CLONES void scale_row(const float* x, float* y, int64_t n, float alpha, float beta) {
  map_row(x, y, n, affine_fn{alpha, beta});
}

CROWDIFF_CPU_CLONES void binary_row(const float* a, const float* b, float* y, int64_t n, bool add) {
  int64_t i = 0;
  if (add) {
    for (; i + lanes <= n; i += lanes)
      store(y + i, load(a + i) + load(b + i));
  } else {
    for (; i + lanes <= n; i += lanes)
      store(y + i, load(a + i) * load(b + i));
  }
  for (; i < n; ++i)
    y[i] = add ? a[i] + b[i] : a[i] * b[i];
}

}  // namespace

status activation(const activation_params& p) {
  const float* x = p.x.data_as<float>();
  float* y = p.out.mutable_data_as<float>();
  parallel_for(p.count, grain, [&](int64_t begin, int64_t end) {
    activation_row(x + begin, y + begin, end - begin, p.function);
  });
  return status::ok();
}

status geglu(const geglu_params& p) {
  const float* x = p.x.data_as<float>();
  float* y = p.out.mutable_data_as<float>();
  parallel_for(p.rows, std::max<int64_t>(1, grain / std::max<int64_t>(1, p.half)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t r = begin; r < end; ++r)
                   geglu_row(x + r * 2 * p.half, y + r * p.half, p.half);
               });
  return status::ok();
}

status softmax(const softmax_params& p) {
  const float* x = p.x.data_as<float>();
  float* y = p.out.mutable_data_as<float>();
  parallel_for(p.rows, std::max<int64_t>(1, grain / p.cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      softmax_row(x + r * p.cols, y + r * p.cols, p.cols);
  });
  return status::ok();
}

status scale(const scale_params& p) {
  const float* x = p.x.data_as<float>();
  float* y = p.out.mutable_data_as<float>();
  parallel_for(p.count, grain, [&](int64_t begin, int64_t end) {
    scale_row(x + begin, y + begin, end - begin, p.alpha, p.beta);
  });
  return status::ok();
}

status binary(const binary_params& p) {
  const float* a = p.a.data_as<float>();
  const float* b = p.b.data_as<float>();
  float* y = p.out.mutable_data_as<float>();
  const bool add = p.op == binary_params::kind::add;
  const auto last = static_cast<size_t>(p.rank - 1);
  const int64_t inner = p.dims[last];
  const int64_t rows = p.a.numel() / std::max<int64_t>(1, inner);
  // Each row of the innermost dimension: b is either a contiguous row (stride 1) or one value (stride 0).
  parallel_for(rows, std::max<int64_t>(1, grain / std::max<int64_t>(1, inner)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t r = begin; r < end; ++r) {
                   int64_t rest = r, b_offset = 0;
                   for (int d = p.rank - 2; d >= 0; --d) {
                     const auto u = static_cast<size_t>(d);
                     b_offset += (rest % p.dims[u]) * p.b_strides[u];
                     rest /= p.dims[u];
                   }
                   const float* a_row = a + r * inner;
                   float* y_row = y + r * inner;
                   if (p.b_strides[last] == 1)
                     binary_row(a_row, b + b_offset, y_row, inner, add);
                   else if (add)
                     scale_row(a_row, y_row, inner, 1.0f, b[b_offset]);
                   else
                     scale_row(a_row, y_row, inner, b[b_offset], 0.0f);
                 }
               });
  return status::ok();
}

}  // namespace crowdiff::kernels::cpu::detail
