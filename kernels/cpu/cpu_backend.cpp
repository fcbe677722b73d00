#include "kernels/cpu/cpu_backend.hpp"

#include <omp.h>

#include "kernels/cpu/detail/attention_bf16.hpp"
#include "kernels/cpu/detail/convert.hpp"
#include "kernels/cpu/detail/dnnl_runtime.hpp"
#include "kernels/cpu/detail/ops.hpp"
#include "kernels/cpu/detail/parallel.hpp"

namespace crowdiff::kernels {

namespace {

namespace impl = cpu::detail;
using impl::cpu_env;
using impl::dnnl_runtime;
using impl::packed_weight;
using impl::use_threads;

class cpu_backend final : public backend {
 public:
  cpu_backend(std::unique_ptr<dnnl_runtime> runtime, dtype compute, int threads, bool bf16_dot)
      : backend(std::make_unique<host_allocator>()),
        runtime_(std::move(runtime)),
        threads_(threads),
        env_{memory(), *runtime_, compute, this, bf16_dot} {}

  std::string_view name() const override { return "cpu"; }
  dtype activation_dtype() const override { return dtype::f32; }
  dtype compute_dtype() const override { return env_.compute; }
  bool supports(op_kind op, dtype t) const override {
    if (op == op_kind::convert)
      return is_float(t);
    return t == dtype::f32;
  }

 protected:
  bool owns_packed(const tensor& w) const override {
    const auto* packed = dynamic_cast<const packed_weight*>(w.storage());
    return packed != nullptr && packed->owner() == this;
  }

  result<tensor> do_prepare_weight(const tensor& w, weight_use use) override {
    use_threads(threads_);
    switch (use) {
      case weight_use::linear:
        return impl::prepare_linear_weight(w, env_);
      case weight_use::conv2d:
        return impl::pack_conv_weight(w, env_);
      case weight_use::embedding:
        return w;  // rows are converted as they are looked up
      case weight_use::other:
        break;
    }
    if (w.dtype() == dtype::f32)
      return w;
    auto copy = tensor::host(w.shape(), dtype::f32);
    if (!copy)
      return copy.error();
    impl::convert(w.data(), w.dtype(), copy->mutable_data(), dtype::f32, w.numel());
    return copy;
  }

  status run_copy(const tensor& src, const tensor& dst) override {
    use_threads(threads_);
    impl::convert(src.data(), src.dtype(), dst.mutable_data(), dst.dtype(), src.numel());
    return status::ok();
  }

  status run_linear(const linear_params& p) override {
    enter();
    return impl::linear(p, env_);
  }
  status run_matmul(const matmul_params& p) override {
    enter();
    return impl::matmul(p, env_);
  }
  status run_conv2d(const conv2d_params& p) override {
    enter();
    return impl::conv2d(p, env_);
  }
  status run_group_norm(const group_norm_params& p) override {
    enter();
    return impl::group_norm(p, env_);
  }
  status run_layer_norm(const layer_norm_params& p) override {
    enter();
    return impl::layer_norm(p, env_);
  }
  status run_attention(const attention_params& p) override {
    enter();
    return impl::attention(p, env_);
  }
  status run_softmax(const softmax_params& p) override {
    enter();
    return impl::softmax(p);
  }
  status run_activation(const activation_params& p) override {
    enter();
    return impl::activation(p);
  }
  status run_geglu(const geglu_params& p) override {
    enter();
    return impl::geglu(p);
  }
  status run_upsample(const upsample_params& p) override {
    enter();
    return impl::upsample(p);
  }
  status run_binary(const binary_params& p) override {
    enter();
    return impl::binary(p);
  }
  status run_scale(const scale_params& p) override {
    enter();
    return impl::scale(p);
  }
  status run_concat(const concat_params& p) override {
    enter();
    return impl::concat(p);
  }
  status run_permute(const permute_params& p) override {
    enter();
    return impl::permute(p);
  }
  status run_slice(const slice_params& p) override {
    enter();
    return impl::slice(p);
  }
  status run_embedding(const embedding_params& p) override {
    enter();
    return impl::embedding(p, env_);
  }
  status run_convert(const convert_params& p) override { return run_copy(p.x, p.out); }

 private:
  void enter() const { use_threads(threads_); }

  std::unique_ptr<dnnl_runtime> runtime_;
  int threads_;
  cpu_env env_;
};

}  // namespace

cpu_features detect_cpu_features() {
  cpu_features f;
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  f.avx512_bf16 = f.avx512 && impl::bf16_attention_available();
  f.amx_bf16 = __builtin_cpu_supports("amx-bf16");
  return f;
}

result<std::unique_ptr<backend>> make_cpu_backend(cpu_options options) {
  const cpu_features features = detect_cpu_features();
  const bool native_bf16 = features.avx512_bf16 || features.amx_bf16;
  dtype compute = dtype::f32;
  switch (options.precision) {
    case cpu_precision::automatic:
      compute = native_bf16 ? dtype::bf16 : dtype::f32;
      break;
    case cpu_precision::f32:
      compute = dtype::f32;
      break;
    case cpu_precision::bf16:
      if (!native_bf16)
        return status{errc::unsupported, "cpu backend: this CPU has neither AVX512-BF16 nor AMX for bf16"};
      compute = dtype::bf16;
      break;
  }
  if (options.threads < 0)
    return status{errc::invalid_argument, "cpu backend: negative thread count"};
  auto runtime = dnnl_runtime::create(features.amx_bf16);
  if (!runtime)
    return runtime.error();
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  std::unique_ptr<backend> out =
      std::make_unique<cpu_backend>(std::move(*runtime), compute, threads, features.avx512_bf16);
  return out;
}

}  // namespace crowdiff::kernels
