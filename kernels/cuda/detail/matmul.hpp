#pragma once

// Matrix products through cuBLASLt: linear (bias fused into the epilogue) and batched matmul, plus the
// column-major GEMM that both (and the blocked attention) are phrased as.

#include <cstdint>
#include <map>
#include <tuple>

#include "common/status.hpp"
#include "kernels/cuda/detail/cuda_context.hpp"
#include "kernels/op_params.hpp"

namespace crowdiff::kernels::cuda {

/// D[m, n] = alpha * op(A)[m, k] * op(B)[k, n] (+ bias[m] on every column), column-major, `batch` times with
/// element strides between the matrices (0: the same matrix for every batch). A and B are f16 or bf16
/// (`ab_type`), D is `d_type` (the same, or f32), bias is `d_type`; accumulation in f32.
struct gemm_problem {
  const void* a = nullptr;
  bool trans_a = false;
  int64_t lda = 0, stride_a = 0;
  const void* b = nullptr;
  bool trans_b = false;
  int64_t ldb = 0, stride_b = 0;
  void* d = nullptr;
  int64_t ldd = 0, stride_d = 0;
  int64_t m = 0, n = 0, k = 0, batch = 1;
  float alpha = 1.0f;
  const void* bias = nullptr;
  dtype ab_type = dtype::f16, d_type = dtype::f16;
};

/// cuBLASLt descriptors and the algorithm its heuristic picked, per problem shape and pointer alignment;
/// made at the first call of a shape, so that later calls (and graph captures) only enqueue.
class matmul_plans {
 public:
  matmul_plans() = default;
  matmul_plans(const matmul_plans&) = delete;
  matmul_plans& operator=(const matmul_plans&) = delete;
  ~matmul_plans();

  /// Enqueues `g` on ctx.stream. unsupported when cuBLASLt has no algorithm for it.
  status run(const gemm_problem& g, cuda_context& ctx);

 private:
  struct plan;
  using key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int, int, int, int, int>;
  std::map<key, plan*> plans_;
};

status linear(const linear_params& p, cuda_context& ctx);
status matmul(const matmul_params& p, cuda_context& ctx);

/// `w` in the activation dtype: itself when it is, else a copy converted into scratch memory (reusable once
/// the returned tensor is dropped, which is safe as soon as the op using it has been enqueued).
result<tensor> as_activation_dtype(const tensor& w, cuda_context& ctx);

}  // namespace crowdiff::kernels::cuda
