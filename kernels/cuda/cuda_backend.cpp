#include "kernels/cuda/cuda_backend.hpp"

#include <string>

#include "kernels/cuda/detail/backend_access.hpp"
#include "kernels/cuda/detail/conv.hpp"
#include "kernels/cuda/detail/cuda_check.hpp"
#include "kernels/cuda/detail/matmul.hpp"
#include "kernels/cuda/detail/ops.hpp"

namespace crowdiff::kernels {

namespace {

namespace impl = cuda;
using impl::cuda_context;
using impl::stream_allocator;

// cuBLASLt's workspace: what its heuristics use for the largest UNet products.
constexpr size_t lt_workspace_bytes = size_t{32} << 20;

class cuda_backend final : public backend, public impl::backend_internals {
 public:
  cuda_backend(std::unique_ptr<stream_allocator> allocator, stream_allocator* raw, dtype act,
               int multiprocessors)
      : backend(std::move(allocator)), allocator_(raw) {
    ctx_.ordinal = raw->ordinal();
    ctx_.act = act;
    ctx_.stream = raw->stream();
    ctx_.multiprocessors = multiprocessors;
    ctx_.memory = &memory();
    ctx_.matmuls = &matmuls_;
    ctx_.convs = &convs_;
  }

  ~cuda_backend() override {
    cudaSetDevice(ctx_.ordinal);
    cudaStreamSynchronize(ctx_.stream);
    if (ctx_.dnn)
      cudnnDestroy(ctx_.dnn);
    if (ctx_.lt)
      cublasLtDestroy(ctx_.lt);
  }

  /// The library handles and cuBLASLt's workspace; called once by the factory.
  status init() {
    CROWDIFF_CUBLAS_CHECK(cublasLtCreate(&ctx_.lt));
    CROWDIFF_CUDNN_CHECK(cudnnCreate(&ctx_.dnn));
    CROWDIFF_CUDNN_CHECK(cudnnSetStream(ctx_.dnn, ctx_.stream));
    workspace_ = impl::device_storage::allocate(lt_workspace_bytes, ctx_.ordinal);
    if (!workspace_)
      return {errc::resource_exhausted, "cuda backend: no memory for cuBLASLt's workspace"};
    ctx_.lt_workspace = workspace_->data();
    ctx_.lt_workspace_bytes = lt_workspace_bytes;
    return status::ok();
  }

  std::string_view name() const override { return "cuda"; }
  dtype activation_dtype() const override { return ctx_.act; }
  dtype compute_dtype() const override { return ctx_.act; }
  bool supports(op_kind op, dtype t) const override {
    if (op == op_kind::convert)
      return is_float(t);
    return t == ctx_.act;
  }

  cuda_context& context() override { return ctx_; }
  stream_allocator& allocator() override { return *allocator_; }

 protected:
  bool owns_packed(const tensor&) const override { return false; }  // weights stay dense

  result<tensor> do_prepare_weight(const tensor& w, weight_use) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::prepare_weight(w, ctx_);
  }
  status run_copy(const tensor& src, const tensor& dst) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    if (src.device().kind == device_kind::cpu && src.numel() > 0 && ctx_.capturing()) {
      // A captured upload is replayed long after the step let go of its host bytes: it reads a page-locked
      // copy the graph keeps (every replay uploads the values of the capture).
      void* kept = allocator_->keep_host_copy(src.data(), src.nbytes());
      if (kept == nullptr)
        return {errc::resource_exhausted, "cuda graph: no page-locked memory for an upload of " +
                                              std::to_string(src.nbytes()) + " bytes"};
      return impl::copy(tensor::borrow(kept, src.shape(), src.dtype()), dst, ctx_);
    }
    return impl::copy(src, dst, ctx_);
  }
  status run_linear(const linear_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::linear(p, ctx_);
  }
  status run_matmul(const matmul_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::matmul(p, ctx_);
  }
  status run_conv2d(const conv2d_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::conv2d(p, ctx_);
  }
  status run_group_norm(const group_norm_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::group_norm(p, ctx_);
  }
  status run_layer_norm(const layer_norm_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::layer_norm(p, ctx_);
  }
  status run_attention(const attention_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::attention(p, ctx_);
  }
  status run_softmax(const softmax_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::softmax(p, ctx_);
  }
  status run_activation(const activation_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::activation(p, ctx_);
  }
  status run_geglu(const geglu_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::geglu(p, ctx_);
  }
  status run_upsample(const upsample_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::upsample(p, ctx_);
  }
  status run_binary(const binary_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::binary(p, ctx_);
  }
  status run_scale(const scale_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::scale(p, ctx_);
  }
  status run_concat(const concat_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::concat(p, ctx_);
  }
  status run_permute(const permute_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::permute(p, ctx_);
  }
  status run_slice(const slice_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::slice(p, ctx_);
  }
  status run_embedding(const embedding_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::embedding(p, ctx_);
  }
  status run_convert(const convert_params& p) override {
    CROWDIFF_RETURN_IF_ERROR(enter());
    return impl::convert(p, ctx_);
  }

 private:
  // The calling thread may change between calls (actors move between threads): make our device current.
  status enter() const {
    CROWDIFF_CUDA_CHECK(cudaSetDevice(ctx_.ordinal));
    return status::ok();
  }

  stream_allocator* allocator_;
  cuda_context ctx_;
  impl::matmul_plans matmuls_;
  impl::conv_plans convs_;
  storage_ref workspace_;
};

}  // namespace

namespace cuda {

backend_internals* internals_of(backend& be) {
  return dynamic_cast<cuda_backend*>(&be);
}

}  // namespace cuda

result<std::unique_ptr<backend>> make_cuda_backend(cuda_options options) {
  if (options.activations != dtype::f16 && options.activations != dtype::bf16)
    return status{errc::unsupported, "cuda backend: activations must be f16 or bf16, not " +
                                         std::string(to_string(options.activations))};
  CROWDIFF_RETURN_IF_ERROR(cuda_availability());
  const int count = cuda_device_count();
  if (options.device < 0 || options.device >= count)
    return status{errc::unavailable, "cuda backend: no device cuda:" + std::to_string(options.device) + " (" +
                                         std::to_string(count) + " present)"};
  cudaDeviceProp props{};
  CROWDIFF_CUDA_CHECK(cudaGetDeviceProperties(&props, options.device));
  if (props.major < 8)
    return status{errc::unsupported, std::string("cuda backend: ") + props.name + " is sm_" +
                                         std::to_string(props.major) + std::to_string(props.minor) +
                                         "; the kernels need sm_80 or later"};
  auto allocator = stream_allocator::create(options.device);
  if (!allocator)
    return allocator.error();
  stream_allocator* raw = allocator->get();
  auto be = std::make_unique<cuda_backend>(std::move(*allocator), raw, options.activations,
                                           props.multiProcessorCount);
  CROWDIFF_RETURN_IF_ERROR(be->init());
  std::unique_ptr<backend> out = std::move(be);
  return out;
}

status cuda_synchronize(backend& be) {
  cuda::backend_internals* internals = cuda::internals_of(be);
  if (internals == nullptr)
    return {errc::invalid_argument, "cuda_synchronize: " + std::string(be.name()) + " is not a CUDA backend"};
  const cuda_context& ctx = internals->context();
  CROWDIFF_CUDA_CHECK(cudaSetDevice(ctx.ordinal));
  CROWDIFF_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return status::ok();
}

}  // namespace crowdiff::kernels
