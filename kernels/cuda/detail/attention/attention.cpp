// The attention op's host entry point: validates what the kernels assume, fills flash_params and launches the
// fused kernel; head dims over 160 (the VAE's single 512-wide head) take the blocked path instead.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "kernels/cuda/detail/attention/flash_traits.hpp"
#include "kernels/cuda/detail/cuda_check.hpp"
#include "kernels/cuda/detail/launchers.hpp"
#include "kernels/cuda/detail/matmul.hpp"
#include "kernels/cuda/detail/ops.hpp"
#include "kernels/status_macros.hpp"

namespace crowdiff::kernels::cuda {

namespace {

constexpr float log2_e = 1.4426950408889634f;
// Scores the blocked path keeps at once (f32); query rows are taken in blocks that fit.
constexpr int64_t blocked_score_bytes = int64_t{64} << 20;

bool aligned(const void* p, uintptr_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

status flash(const attention_params& p, cuda_context& ctx) {
  constexpr int64_t int_max = std::numeric_limits<int>::max();
  if (p.lq > int_max || p.lk > int_max || p.heads > 65535 || p.batch > 65535)
    return {errc::unsupported, "attention: " + std::to_string(p.batch) + " x " + std::to_string(p.heads) +
                                   " heads of " + std::to_string(p.lq) + " x " + std::to_string(p.lk) +
                                   " is beyond the fused kernel's grid"};
  flash_params f;
  f.q = p.q.data();
  f.k = p.k.data();
  f.v = p.v.data();
  f.out = p.out.mutable_data();
  f.q_row_stride = p.heads * p.head_dim;
  f.k_row_stride = p.heads * p.head_dim;
  f.v_row_stride = p.heads * p.head_dim_v;
  f.out_row_stride = p.heads * p.head_dim_v;
  f.q_batch_stride = p.lq * f.q_row_stride;
  f.k_batch_stride = p.lk * f.k_row_stride;
  f.v_batch_stride = p.lk * f.v_row_stride;
  f.out_batch_stride = p.lq * f.out_row_stride;
  f.batch = static_cast<int>(p.batch);
  f.heads = static_cast<int>(p.heads);
  f.lq = static_cast<int>(p.lq);
  f.lk = static_cast<int>(p.lk);
  f.d = static_cast<int>(p.head_dim);
  f.dv = static_cast<int>(p.head_dim_v);
  f.scale_log2 = p.scale * log2_e;
  f.causal = p.causal;
  // Head offsets and row strides are multiples of the head dims, so these make every row 16-byte (4-byte)
  // aligned.
  f.vector_loads = p.head_dim % 8 == 0 && p.head_dim_v % 8 == 0 && aligned(f.q, 16) && aligned(f.k, 16) &&
                   aligned(f.v, 16);
  f.pair_stores = p.head_dim_v % 2 == 0 && aligned(f.out, 4);
  CROWDIFF_CUDA_CHECK(launch_flash_attention(f, ctx.bf16(), ctx.stream));
  return status::ok();
}

// For each batch and block of query rows: scores = scale q k^T (f32, all heads), softmax into probabilities
// of the activation dtype, out = p v; both products through cuBLASLt, batched over the heads.
status blocked(const attention_params& p, cuda_context& ctx) {
  const int64_t h = p.heads, d = p.head_dim, dv = p.head_dim_v;
  const int64_t rows = std::clamp<int64_t>(blocked_score_bytes / (h * p.lk * 4), 1, p.lq);
  CROWDIFF_ASSIGN_OR_RETURN(storage_ref scores, ctx.scratch(static_cast<size_t>(h * rows * p.lk) * 4));
  CROWDIFF_ASSIGN_OR_RETURN(storage_ref probs,
                            ctx.scratch(static_cast<size_t>(h * rows * p.lk) * dtype_size(ctx.act)));
  const size_t es = dtype_size(ctx.act);
  const auto* q = static_cast<const char*>(p.q.data());
  const auto* k = static_cast<const char*>(p.k.data());
  const auto* v = static_cast<const char*>(p.v.data());
  auto* out = static_cast<char*>(p.out.mutable_data());
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t q0 = 0; q0 < p.lq; q0 += rows) {
      const int64_t n = std::min(rows, p.lq - q0);
      // Column-major scores^T (lk x n) per head = k_h (lk x d, read transposed) q_h^T (d x n).
      gemm_problem s;
      s.a = k + static_cast<size_t>(b * p.lk * h * d) * es;
      s.trans_a = true;
      s.lda = h * d;
      s.stride_a = d;
      s.b = q + static_cast<size_t>((b * p.lq + q0) * h * d) * es;
      s.ldb = h * d;
      s.stride_b = d;
      s.d = scores->data();
      s.ldd = p.lk;
      s.stride_d = n * p.lk;
      s.m = p.lk;
      s.n = n;
      s.k = d;
      s.batch = h;
      s.alpha = p.scale;
      s.ab_type = ctx.act;
      s.d_type = dtype::f32;
      CROWDIFF_RETURN_IF_ERROR(ctx.matmuls->run(s, ctx));

      softmax_args sm;
      sm.x = scores->data();
      sm.x_type = dtype::f32;
      sm.out = probs->data();
      sm.out_type = ctx.act;
      sm.rows = h * n;
      sm.cols = p.lk;
      sm.x_row_stride = sm.out_row_stride = p.lk;
      sm.causal = p.causal;
      sm.rows_per_head = n;
      sm.query0 = q0;
      CROWDIFF_CUDA_CHECK(launch_softmax(sm, ctx.stream));

      // Column-major out_h^T (dv x n) = v_h^T (dv x lk) p_h^T (lk x n).
      gemm_problem o;
      o.a = v + static_cast<size_t>(b * p.lk * h * dv) * es;
      o.lda = h * dv;
      o.stride_a = dv;
      o.b = probs->data();
      o.ldb = p.lk;
      o.stride_b = n * p.lk;
      o.d = out + static_cast<size_t>((b * p.lq + q0) * h * dv) * es;
      o.ldd = h * dv;
      o.stride_d = dv;
      o.m = dv;
      o.n = n;
      o.k = p.lk;
      o.batch = h;
      o.ab_type = o.d_type = ctx.act;
      CROWDIFF_RETURN_IF_ERROR(ctx.matmuls->run(o, ctx));
    }
  }
  return status::ok();
}

}  // namespace

status attention(const attention_params& p, cuda_context& ctx) {
  if (p.batch == 0 || p.lq == 0)
    return status::ok();
  if (std::max(p.head_dim, p.head_dim_v) <= flash_max_head_dim)
    return flash(p, ctx);
  return blocked(p, ctx);
}

}  // namespace crowdiff::kernels::cuda
