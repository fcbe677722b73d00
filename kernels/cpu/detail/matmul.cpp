// linear and batched matmul on oneDNN's matmul primitive. Activations are f32; in the bf16 policy the
// inputs are converted to bf16 (weights once at load, activations per call) and oneDNN accumulates in f32
// and writes f32.
//
// Linear weights stay in PyTorch's plain [out, in] layout: oneDNN's brgemm matmul runs them as fast as its
// own blocked layout (measured at SD's shapes in f32 and bf16, 154 to 8192 rows), and a weight already in
// the compute dtype is then used straight from the mapped file, without a copy.

#include <algorithm>
#include <bit>

#include "kernels/cpu/detail/convert.hpp"
#include "kernels/cpu/detail/ops.hpp"

namespace crowdiff::kernels::cpu::detail {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

enum key_tag : int64_t { key_linear = 1, key_matmul = 2 };

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::matmul::primitive_desc linear_pd(dnnl::engine& engine, int64_t m, int64_t k, int64_t n, dtype compute,
                                       bool bias) {
  const dnnl::memory::desc src({m, k}, to_dnnl(compute), tag::ab);
  const dnnl::memory::desc weights({k, n}, to_dnnl(compute), tag::ba);  // W [n, k] row-major
  const dnnl::memory::desc dst({m, n}, dt::f32, tag::ab);
  if (bias) {
    const dnnl::memory::desc bias_md({1, n}, dt::f32, tag::ab);
    return {dnnl::matmul::desc(src, weights, bias_md, dst), user_scratchpad(), engine};
  }
  return {dnnl::matmul::desc(src, weights, dst), user_scratchpad(), engine};
}

}  // namespace

status linear(const linear_params& p, cpu_env& env) {
  if (p.w.packed())  // this backend packs only convolution filters
    return {errc::invalid_argument, "linear: a packed convolution filter is not a linear weight"};
  if (p.m == 0 || p.n == 0)
    return status::ok();
  if (p.k == 0) {
    // No products: the result is the bias (or zeros); oneDNN rejects empty reductions.
    auto bias = p.bias.defined() ? in_dtype(p.bias, dtype::f32, env.scratch) : result<operand>(operand{});
    if (!bias)
      return bias.error();
    auto* out = p.out.mutable_data_as<float>();
    for (int64_t i = 0; i < p.m * p.n; ++i)
      out[i] = bias->data ? static_cast<const float*>(bias->data)[i % p.n] : 0.0f;
    return status::ok();
  }
  const primitive_key key{
      key_linear, p.m, p.k, p.n, static_cast<int64_t>(env.compute), p.bias.defined() ? 1 : 0};
  cached_primitive* entry = env.dnnl.find(key);
  if (entry == nullptr) {
    const status st = dnnl_runtime::guard("linear", [&] {
      const auto pd = linear_pd(env.dnnl.engine(), p.m, p.k, p.n, env.compute, p.bias.defined());
      entry = &env.dnnl.insert(key, dnnl::matmul(pd), pd,
                               {{DNNL_ARG_SRC, pd.src_desc()},
                                {DNNL_ARG_WEIGHTS, pd.weights_desc()},
                                {DNNL_ARG_BIAS, pd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_BIAS)},
                                {DNNL_ARG_DST, pd.dst_desc()}});
      return status::ok();
    });
    CROWDIFF_RETURN_IF_ERROR(st);
  }
  auto src = in_dtype(p.x, env.compute, env.scratch);
  if (!src)
    return src.error();
  auto weights = in_dtype(p.w, env.compute, env.scratch);
  if (!weights)
    return weights.error();
  auto bias = p.bias.defined() ? in_dtype(p.bias, dtype::f32, env.scratch) : result<operand>(operand{});
  if (!bias)
    return bias.error();
  return env.dnnl.execute(*entry,
                          {{DNNL_ARG_SRC, src->data},
                           {DNNL_ARG_WEIGHTS, weights->data},
                           {DNNL_ARG_BIAS, bias->data},
                           {DNNL_ARG_DST, p.out.data()}},
                          env.scratch);
}

status matmul(const matmul_params& p, cpu_env& env) {
  if (p.batch == 0 || p.m == 0 || p.n == 0)
    return status::ok();
  if (p.k == 0) {
    auto* out = p.out.mutable_data_as<float>();
    std::fill(out, out + p.out.numel(), 0.0f);
    return status::ok();
  }
  const primitive_key key{key_matmul,
                          p.batch,
                          p.batch_b,
                          p.m,
                          p.k,
                          p.n,
                          p.options.transpose_b ? 1 : 0,
                          std::bit_cast<int32_t>(p.options.alpha),
                          static_cast<int64_t>(env.compute)};
  cached_primitive* entry = env.dnnl.find(key);
  if (entry == nullptr) {
    const status st = dnnl_runtime::guard("matmul", [&] {
      const dt compute = to_dnnl(env.compute);
      const dnnl::memory::desc a({p.batch, p.m, p.k}, compute, tag::abc);
      const dnnl::memory::desc b = p.options.transpose_b
                                       ? dnnl::memory::desc({p.batch_b, p.k, p.n}, compute, tag::acb)
                                       : dnnl::memory::desc({p.batch_b, p.k, p.n}, compute, tag::abc);
      const dnnl::memory::desc c({p.batch, p.m, p.n}, dt::f32, tag::abc);
      dnnl::primitive_attr attr = user_scratchpad();
      if (p.options.alpha != 1.0f)
        attr.set_output_scales(0, {p.options.alpha});
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, env.dnnl.engine());
      entry = &env.dnnl.insert(key, dnnl::matmul(pd), pd,
                               {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
      return status::ok();
    });
    CROWDIFF_RETURN_IF_ERROR(st);
  }
  auto a = in_dtype(p.a, env.compute, env.scratch);
  if (!a)
    return a.error();
  auto b = in_dtype(p.b, env.compute, env.scratch);
  if (!b)
    return b.error();
  return env.dnnl.execute(
      *entry, {{DNNL_ARG_SRC, a->data}, {DNNL_ARG_WEIGHTS, b->data}, {DNNL_ARG_DST, p.out.data()}},
      env.scratch);
}

result<tensor> prepare_linear_weight(const tensor& w, cpu_env& env) {
  if (w.dtype() == env.compute)
    return w;
  auto copy = tensor::host(w.shape(), env.compute);
  if (!copy)
    return copy.error();
  convert(w.data(), w.dtype(), copy->mutable_data(), env.compute, w.numel());
  return copy;
}

}  // namespace crowdiff::kernels::cpu::detail
