#include "kernels/cuda/detail/matmul.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "kernels/cuda/detail/cuda_check.hpp"
#include "kernels/cuda/detail/launchers.hpp"
#include "kernels/status_macros.hpp"

namespace crowdiff::kernels::cuda {

namespace {

cudaDataType_t cuda_type(dtype t) {
  return t == dtype::f16 ? CUDA_R_16F : t == dtype::bf16 ? CUDA_R_16BF : CUDA_R_32F;
}

// The largest power of two (at most 256) dividing the address: cuBLASLt picks kernels by it.
uint32_t alignment(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  return a == 0 ? 256u : static_cast<uint32_t>(std::min<uintptr_t>(uintptr_t{1} << std::countr_zero(a), 256));
}

}  // namespace

struct matmul_plans::plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};

  ~plan() {
    if (d)
      cublasLtMatrixLayoutDestroy(d);
    if (b)
      cublasLtMatrixLayoutDestroy(b);
    if (a)
      cublasLtMatrixLayoutDestroy(a);
    if (desc)
      cublasLtMatmulDescDestroy(desc);
  }
};

matmul_plans::~matmul_plans() {
  for (auto& [k, p] : plans_)
    delete p;
}

namespace {

status make_layout(cublasLtMatrixLayout_t& out, dtype t, int64_t rows, int64_t cols, int64_t ld,
                   int64_t batch, int64_t stride) {
  CROWDIFF_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&out, cuda_type(t), static_cast<uint64_t>(rows),
                                                   static_cast<uint64_t>(cols), ld));
  if (batch > 1) {
    const auto count = static_cast<int32_t>(batch);
    CROWDIFF_CUBLAS_CHECK(
        cublasLtMatrixLayoutSetAttribute(out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count));
    CROWDIFF_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                           &stride, sizeof stride));
  }
  return status::ok();
}

}  // namespace

status matmul_plans::run(const gemm_problem& g, cuda_context& ctx) {
  // Every column and every batch of a matrix starts as aligned as the lowest set bit of these allows.
  const auto aligned = [](const void* p, int64_t ld, int64_t stride, dtype t) {
    const auto bytes = static_cast<uintptr_t>(dtype_size(t));
    return alignment(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) |
                                                   static_cast<uintptr_t>(ld) * bytes |
                                                   static_cast<uintptr_t>(stride) * bytes));
  };
  const uint32_t align_a = aligned(g.a, g.lda, g.stride_a, g.ab_type);
  const uint32_t align_b = aligned(g.b, g.ldb, g.stride_b, g.ab_type);
  const uint32_t align_d = aligned(g.d, g.ldd, g.stride_d, g.d_type);
  const int flags = (g.trans_a ? 1 : 0) | (g.trans_b ? 2 : 0) | (g.bias ? 4 : 0);
  const key k{g.m,
              g.n,
              g.k,
              g.batch,
              g.lda,
              g.ldb,
              g.ldd,
              g.stride_a,
              g.stride_b,
              g.stride_d,
              flags,
              static_cast<int>(g.ab_type) * 8 + static_cast<int>(g.d_type),
              static_cast<int>(align_a),
              static_cast<int>(align_b),
              static_cast<int>(align_d)};
  plan* p = nullptr;
  if (const auto it = plans_.find(k); it != plans_.end()) {
    p = it->second;
  } else {
    auto fresh = std::make_unique<plan>();
    CROWDIFF_CUBLAS_CHECK(cublasLtMatmulDescCreate(&fresh->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    CROWDIFF_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(fresh->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a));
    CROWDIFF_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(fresh->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b));
    if (g.bias) {
      const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
      CROWDIFF_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(fresh->desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                           &epilogue, sizeof epilogue));
      const cudaDataType_t bias_type = cuda_type(g.d_type);
      CROWDIFF_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(fresh->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                                           &bias_type, sizeof bias_type));
    }
    // Stored shapes, before op(): op(A) is m x k, op(B) is k x n.
    CROWDIFF_RETURN_IF_ERROR(make_layout(fresh->a, g.ab_type, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k,
                                         g.lda, g.batch, g.stride_a));
    CROWDIFF_RETURN_IF_ERROR(make_layout(fresh->b, g.ab_type, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n,
                                         g.ldb, g.batch, g.stride_b));
    CROWDIFF_RETURN_IF_ERROR(make_layout(fresh->d, g.d_type, g.m, g.n, g.ldd, g.batch, g.stride_d));

    cublasLtMatmulPreference_t pref = nullptr;
    CROWDIFF_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t workspace = ctx.lt_workspace_bytes;
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    cublasStatus_t e = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                            &workspace, sizeof workspace);
    const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> alignments[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_a},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_b},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_d},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_d}};
    for (const auto& [attribute, value] : alignments) {
      if (e == CUBLAS_STATUS_SUCCESS)
        e = cublasLtMatmulPreferenceSetAttribute(pref, attribute, &value, sizeof value);
    }
    if (e == CUBLAS_STATUS_SUCCESS)
      e = cublasLtMatmulAlgoGetHeuristic(ctx.lt, fresh->desc, fresh->a, fresh->b, fresh->d, fresh->d, pref, 1,
                                         &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    CROWDIFF_CUBLAS_CHECK(e);
    if (found == 0)
      return {errc::unsupported, "cuBLASLt has no algorithm for a " + std::to_string(g.m) + "x" +
                                     std::to_string(g.n) + "x" + std::to_string(g.k) + " product"};
    fresh->algo = result.algo;
    p = fresh.release();
    plans_.emplace(k, p);
  }
  if (g.bias)
    CROWDIFF_CUBLAS_CHECK(
        cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &g.bias, sizeof g.bias));
  const float beta = 0.0f;
  CROWDIFF_CUBLAS_CHECK(cublasLtMatmul(ctx.lt, p->desc, &g.alpha, g.a, p->a, g.b, p->b, &beta, g.d, p->d, g.d,
                                       p->d, &p->algo, ctx.lt_workspace, ctx.lt_workspace_bytes, ctx.stream));
  return status::ok();
}

result<tensor> as_activation_dtype(const tensor& w, cuda_context& ctx) {
  if (w.dtype() == ctx.act)
    return w;
  CROWDIFF_ASSIGN_OR_RETURN(storage_ref block,
                            ctx.scratch(static_cast<size_t>(w.numel()) * dtype_size(ctx.act)));
  tensor converted = tensor::over(std::move(block), 0, w.shape(), ctx.act);
  const convert_args a{w.data(), w.dtype(), converted.mutable_data(), ctx.act, w.numel()};
  CROWDIFF_CUDA_CHECK(launch_convert(a, ctx.stream));
  return converted;
}

status linear(const linear_params& p, cuda_context& ctx) {
  if (p.m == 0 || p.n == 0)
    return status::ok();
  CROWDIFF_ASSIGN_OR_RETURN(const tensor w, as_activation_dtype(p.w, ctx));
  tensor bias;
  if (p.bias.defined()) {
    CROWDIFF_ASSIGN_OR_RETURN(bias, as_activation_dtype(p.bias, ctx));
  }
  if (p.k == 0) {  // an empty sum: the bias alone
    CROWDIFF_CUDA_CHECK(cudaMemsetAsync(p.out.mutable_data(), 0, p.out.nbytes(), ctx.stream));
    if (bias.defined())
      CROWDIFF_CUDA_CHECK(launch_bias({p.out.mutable_data(), {bias.data(), bias.dtype()}, p.m, p.n, 1},
                                      ctx.bf16(), ctx.stream));
    return status::ok();
  }
  // Row-major out[m, n] = x[m, k] w[n, k]^T is column-major out^T (n x m) = w (n x k) x^T (k x m), where the
  // row-major w [n, k] is a column-major k x n matrix, read transposed; the bias is one value per row of
  // out^T.
  gemm_problem g;
  g.a = w.data();
  g.trans_a = true;
  g.lda = p.k;
  g.b = p.x.data();
  g.ldb = p.k;
  g.d = p.out.mutable_data();
  g.ldd = p.n;
  g.m = p.n;
  g.n = p.m;
  g.k = p.k;
  g.bias = bias.defined() ? bias.data() : nullptr;
  g.ab_type = g.d_type = ctx.act;
  return ctx.matmuls->run(g, ctx);
}

status matmul(const matmul_params& p, cuda_context& ctx) {
  if (p.m == 0 || p.n == 0 || p.batch == 0)
    return status::ok();
  if (p.k == 0) {
    CROWDIFF_CUDA_CHECK(cudaMemsetAsync(p.out.mutable_data(), 0, p.out.nbytes(), ctx.stream));
    return status::ok();
  }
  // Row-major out = a @ op(b) is column-major out^T (n x m) = op(b)^T (n x k) a^T (k x m).
  gemm_problem g;
  g.a = p.b.data();
  g.trans_a = p.options.transpose_b;
  g.lda = p.options.transpose_b ? p.k : p.n;
  g.stride_a = p.batch_b == 1 ? 0 : p.n * p.k;
  g.b = p.a.data();
  g.ldb = p.k;
  g.stride_b = p.m * p.k;
  g.d = p.out.mutable_data();
  g.ldd = p.n;
  g.stride_d = p.m * p.n;
  g.m = p.n;
  g.n = p.m;
  g.k = p.k;
  g.batch = p.batch;
  g.alpha = p.options.alpha;
  g.ab_type = g.d_type = ctx.act;
  return ctx.matmuls->run(g, ctx);
}

}  // namespace crowdiff::kernels::cuda
