#include "kernels/cuda/detail/conv.hpp"

#include <memory>
#include <string>

#include "kernels/cuda/detail/cuda_check.hpp"
#include "kernels/cuda/detail/launchers.hpp"
#include "kernels/cuda/detail/matmul.hpp"
#include "kernels/status_macros.hpp"

namespace crowdiff::kernels::cuda {

namespace {

// Algorithms needing more scratch than this are passed over (cuDNN's heuristics rank them first at times).
constexpr size_t max_workspace_bytes = size_t{512} << 20;

cudnnDataType_t cudnn_type(dtype t) {
  return t == dtype::bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_HALF;
}

int as_int(int64_t v) {
  return static_cast<int>(v);
}

}  // namespace

struct conv_plans::plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnActivationDescriptor_t identity = nullptr;
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  size_t workspace = 0;
  bool fused = false;  // bias through cudnnConvolutionBiasActivationForward

  ~plan() {
    if (identity)
      cudnnDestroyActivationDescriptor(identity);
    if (conv)
      cudnnDestroyConvolutionDescriptor(conv);
    if (w)
      cudnnDestroyFilterDescriptor(w);
    if (bias)
      cudnnDestroyTensorDescriptor(bias);
    if (y)
      cudnnDestroyTensorDescriptor(y);
    if (x)
      cudnnDestroyTensorDescriptor(x);
  }
};

conv_plans::~conv_plans() {
  for (auto& [k, p] : plans_)
    delete p;
}

status conv_plans::run(const conv2d_params& p, const void* x, int64_t h, int64_t w, int64_t pad_h,
                       int64_t pad_w, cuda_context& ctx) {
  const bool has_bias = p.bias.defined();
  const key k{p.n,
              p.c,
              h,
              w,
              p.o,
              p.kh,
              p.kw,
              p.options.stride,
              pad_h,
              pad_w,
              static_cast<int64_t>(ctx.act),
              has_bias ? 1 : 0};
  plan* pl = nullptr;
  if (const auto it = plans_.find(k); it != plans_.end()) {
    pl = it->second;
  } else {
    auto fresh = std::make_unique<plan>();
    const cudnnDataType_t type = cudnn_type(ctx.act);
    CROWDIFF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&fresh->x));
    CROWDIFF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(fresh->x, CUDNN_TENSOR_NCHW, type, as_int(p.n),
                                                    as_int(p.c), as_int(h), as_int(w)));
    CROWDIFF_CUDNN_CHECK(cudnnCreateFilterDescriptor(&fresh->w));
    CROWDIFF_CUDNN_CHECK(cudnnSetFilter4dDescriptor(fresh->w, type, CUDNN_TENSOR_NCHW, as_int(p.o),
                                                    as_int(p.c), as_int(p.kh), as_int(p.kw)));
    CROWDIFF_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&fresh->conv));
    const int stride = as_int(p.options.stride);
    CROWDIFF_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(fresh->conv, as_int(pad_h), as_int(pad_w), stride,
                                                         stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                                         CUDNN_DATA_FLOAT));
    CROWDIFF_CUDNN_CHECK(cudnnSetConvolutionMathType(fresh->conv, CUDNN_TENSOR_OP_MATH));
    int on = 0, oc = 0, oh = 0, ow = 0;
    CROWDIFF_CUDNN_CHECK(
        cudnnGetConvolution2dForwardOutputDim(fresh->conv, fresh->x, fresh->w, &on, &oc, &oh, &ow));
    if (on != p.n || oc != p.o || oh != p.oh || ow != p.ow)
      return {errc::internal, "cuDNN computes a " + std::to_string(oh) + "x" + std::to_string(ow) +
                                  " convolution output where " + std::to_string(p.oh) + "x" +
                                  std::to_string(p.ow) + " is expected"};
    CROWDIFF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&fresh->y));
    CROWDIFF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(fresh->y, CUDNN_TENSOR_NCHW, type, on, oc, oh, ow));

    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    CROWDIFF_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(ctx.dnn, fresh->x, fresh->w, fresh->conv,
                                                                fresh->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                                &returned, perf));
    bool chosen = false;
    for (int i = 0; i < returned && !chosen; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > max_workspace_bytes)
        continue;
      fresh->algo = perf[i].algo;
      chosen = true;
    }
    if (!chosen)
      return {errc::unsupported, "cuDNN offers no convolution algorithm for x [" + std::to_string(p.n) +
                                     ", " + std::to_string(p.c) + ", " + std::to_string(h) + ", " +
                                     std::to_string(w) + "] with a " + std::to_string(p.kh) + "x" +
                                     std::to_string(p.kw) + " kernel"};
    CROWDIFF_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(ctx.dnn, fresh->x, fresh->w, fresh->conv,
                                                                 fresh->y, fresh->algo, &fresh->workspace));
    // cuDNN fuses a bias (with an identity activation) only into the implicit precomputed GEMM algorithm: use
    // it when the heuristic picked that algorithm anyway.
    if (has_bias && fresh->algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) {
      CROWDIFF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&fresh->bias));
      CROWDIFF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(fresh->bias, CUDNN_TENSOR_NCHW, type, 1, oc, 1, 1));
      CROWDIFF_CUDNN_CHECK(cudnnCreateActivationDescriptor(&fresh->identity));
      CROWDIFF_CUDNN_CHECK(cudnnSetActivationDescriptor(fresh->identity, CUDNN_ACTIVATION_IDENTITY,
                                                        CUDNN_NOT_PROPAGATE_NAN, 0.0));
      fresh->fused = true;
    }
    pl = fresh.release();
    plans_.emplace(k, pl);
  }

  storage_ref workspace;
  if (pl->workspace > 0) {
    CROWDIFF_ASSIGN_OR_RETURN(workspace, ctx.scratch(pl->workspace));
  }
  void* ws = workspace ? workspace->data() : nullptr;
  void* out = p.out.mutable_data();
  const float one = 1.0f, zero = 0.0f;
  if (pl->fused) {
    const cudnnStatus_t e = cudnnConvolutionBiasActivationForward(
        ctx.dnn, &one, pl->x, x, pl->w, p.weight.data(), pl->conv, pl->algo, ws, pl->workspace, &zero, pl->y,
        out, pl->bias, p.bias.data(), pl->identity, pl->y, out);
    if (e == CUDNN_STATUS_SUCCESS)
      return status::ok();
    const auto category = CUDNN_STATUS_CATEGORY(e);
    if (category != CUDNN_STATUS_NOT_SUPPORTED && category != CUDNN_STATUS_BAD_PARAM)
      return cudnn_error(e, "cudnnConvolutionBiasActivationForward", __FILE__, __LINE__);
    pl->fused = false;  // this cuDNN has no fused kernel for the shape: convolve, then add the bias ourselves
  }
  CROWDIFF_CUDNN_CHECK(cudnnConvolutionForward(ctx.dnn, &one, pl->x, x, pl->w, p.weight.data(), pl->conv,
                                               pl->algo, ws, pl->workspace, &zero, pl->y, out));
  if (has_bias)
    CROWDIFF_CUDA_CHECK(
        launch_bias({out, {p.bias.data(), p.bias.dtype()}, p.n, p.o, p.oh * p.ow}, ctx.bf16(), ctx.stream));
  return status::ok();
}

status conv2d(const conv2d_params& p, cuda_context& ctx) {
  if (p.n == 0 || p.o == 0 || p.out.numel() == 0)
    return status::ok();
  conv2d_params q = p;
  CROWDIFF_ASSIGN_OR_RETURN(q.weight, as_activation_dtype(p.weight, ctx));
  if (p.bias.defined()) {
    CROWDIFF_ASSIGN_OR_RETURN(q.bias, as_activation_dtype(p.bias, ctx));
  }
  const conv2d_options& o = p.options;
  if (o.pad_top == o.pad_bottom && o.pad_left == o.pad_right)
    return ctx.convs->run(q, p.x.data(), p.h, p.w, o.pad_top, o.pad_left, ctx);
  // cuDNN pads symmetrically: pad explicitly (the VAE encoder's (0, 1, 0, 1)), then convolve unpadded.
  const int64_t h = p.h + o.pad_top + o.pad_bottom, w = p.w + o.pad_left + o.pad_right;
  CROWDIFF_ASSIGN_OR_RETURN(storage_ref padded,
                            ctx.scratch(static_cast<size_t>(p.n * p.c * h * w) * dtype_size(ctx.act)));
  CROWDIFF_CUDA_CHECK(launch_pad(
      {p.x.data(), padded->data(), p.n * p.c, p.h, p.w, o.pad_top, o.pad_bottom, o.pad_left, o.pad_right},
      ctx.stream));
  return ctx.convs->run(q, padded->data(), h, w, 0, 0, ctx);
}

}  // namespace crowdiff::kernels::cuda
