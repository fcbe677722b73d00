// Group norm (NCHW, optionally fused with SiLU) and layer norm. Statistics use two passes over data that is
// cache-resident by then (a group of SD's largest activation is 160 KiB), accumulating 16 lanes in f32 per
// block of 1024 elements and the blocks in double, so long groups keep f32-level accuracy.

#include <algorithm>
#include <cmath>

#include "kernels/cpu/detail/ops.hpp"
#include "kernels/cpu/detail/parallel.hpp"
#include "kernels/cpu/detail/simd.hpp"

namespace crowdiff::kernels::cpu::detail {

namespace {

constexpr int64_t block = 1024;

CROWDIFF_CPU_CLONES double sum_of(const float* x, int64_t n) {
  double total = 0.0;
  for (int64_t b = 0; b < n; b += block) {
    const int64_t end = std::min(n, b + block);
    vf acc = splat(0.0f);
    int64_t i = b;
    for (; i + lanes <= end; i += lanes)
      acc += load(x + i);
    float tail = 0.0f;
    for (; i < end; ++i)
      tail += x[i];
    total += static_cast<double>(reduce_add(acc)) + tail;
  }
  return total;
}

CROWDIFF_CPU_CLONES double squared_deviation_of(const float* x, int64_t n, float mean) {
  double total = 0.0;
  for (int64_t b = 0; b < n; b += block) {
    const int64_t end = std::min(n, b + block);
    vf acc = splat(0.0f);
    int64_t i = b;
    for (; i + lanes <= end; i += lanes) {
      const vf d = load(x + i) - mean;
      acc += d * d;
    }
    float tail = 0.0f;
    for (; i < end; ++i)
      tail += (x[i] - mean) * (x[i] - mean);
    total += static_cast<double>(reduce_add(acc)) + tail;
  }
  return total;
}

// y = (x - mean) * a + b, then SiLU when asked; a and b fold the deviation, gamma and beta together.
// Subtracting the mean first (rather than folding it into b) keeps accuracy when |mean| >> std.
CROWDIFF_CPU_CLONES void affine_row(const float* x, float* y, int64_t n, float mean, float a, float b,
                                    bool silu_after) {
  int64_t i = 0;
  if (silu_after) {
    for (; i + lanes <= n; i += lanes)
      store(y + i, silu((load(x + i) - mean) * a + b));
    if (i < n)
      store_partial(y + i, silu((load_partial(x + i, n - i) - mean) * a + b), n - i);
  } else {
    for (; i + lanes <= n; i += lanes)
      store(y + i, (load(x + i) - mean) * a + b);
    for (; i < n; ++i)
      y[i] = (x[i] - mean) * a + b;
  }
}

// Layer norm's per-element affine: y = (x - mean) * inv * gamma + beta, gamma/beta may be null.
CROWDIFF_CPU_CLONES void normalize_row(const float* x, float* y, int64_t n, float mean, float inv,
                                       const float* gamma, const float* beta) {
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    vf v = (load(x + i) - mean) * inv;
    if (gamma != nullptr)
      v *= load(gamma + i);
    if (beta != nullptr)
      v += load(beta + i);
    store(y + i, v);
  }
  for (; i < n; ++i) {
    float v = (x[i] - mean) * inv;
    v = gamma != nullptr ? v * gamma[i] : v;
    y[i] = beta != nullptr ? v + beta[i] : v;
  }
}

struct stats {
  float mean, inv_std;
};

stats statistics(const float* x, int64_t n, float eps) {
  const double mean = sum_of(x, n) / static_cast<double>(std::max<int64_t>(1, n));
  const double var =
      squared_deviation_of(x, n, static_cast<float>(mean)) / static_cast<double>(std::max<int64_t>(1, n));
  return {static_cast<float>(mean), static_cast<float>(1.0 / std::sqrt(var + eps))};
}

}  // namespace

status group_norm(const group_norm_params& p, cpu_env& env) {
  auto gamma = p.gamma.defined() ? in_dtype(p.gamma, dtype::f32, env.scratch) : result<operand>(operand{});
  auto beta = p.beta.defined() ? in_dtype(p.beta, dtype::f32, env.scratch) : result<operand>(operand{});
  if (!gamma)
    return gamma.error();
  if (!beta)
    return beta.error();
  const auto* g = static_cast<const float*>(gamma->data);
  const auto* b = static_cast<const float*>(beta->data);
  const float* x = p.x.data_as<float>();
  float* y = p.out.mutable_data_as<float>();
  const int64_t per_group = p.c / p.groups;
  const int64_t group_elements = per_group * p.spatial;
  parallel_for_each(p.n * p.groups, [&](int64_t task) {
    const int64_t n = task / p.groups, group = task % p.groups;
    const int64_t first_channel = group * per_group;
    const float* gx = x + (n * p.c + first_channel) * p.spatial;
    float* gy = y + (n * p.c + first_channel) * p.spatial;
    const stats s = statistics(gx, group_elements, p.eps);
    for (int64_t c = 0; c < per_group; ++c) {
      const float scale = s.inv_std * (g != nullptr ? g[first_channel + c] : 1.0f);
      const float shift = b != nullptr ? b[first_channel + c] : 0.0f;
      affine_row(gx + c * p.spatial, gy + c * p.spatial, p.spatial, s.mean, scale, shift, p.silu);
    }
  });
  return status::ok();
}

status layer_norm(const layer_norm_params& p, cpu_env& env) {
  auto gamma = p.gamma.defined() ? in_dtype(p.gamma, dtype::f32, env.scratch) : result<operand>(operand{});
  auto beta = p.beta.defined() ? in_dtype(p.beta, dtype::f32, env.scratch) : result<operand>(operand{});
  if (!gamma)
    return gamma.error();
  if (!beta)
    return beta.error();
  const float* x = p.x.data_as<float>();
  float* y = p.out.mutable_data_as<float>();
  parallel_for(p.rows, std::max<int64_t>(1, 8192 / p.dim), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const stats s = statistics(x + r * p.dim, p.dim, p.eps);
      normalize_row(x + r * p.dim, y + r * p.dim, p.dim, s.mean, s.inv_std,
                    static_cast<const float*>(gamma->data), static_cast<const float*>(beta->data));
    }
  });
  return status::ok();
}

}  // namespace crowdiff::kernels::cpu::detail
