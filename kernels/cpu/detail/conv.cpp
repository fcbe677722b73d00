// conv2d on oneDNN. Our activations are NCHW f32; oneDNN's fast convolutions (brgconv) want channels-last,
// so the input is reordered to NHWC in the compute dtype (one pass that also converts to bf16) and the f32
// NHWC result back to NCHW. Both reorders are oneDNN primitives cached with the convolution.
//
// A 1x1 convolution with stride 1 and no padding is a matmul in NCHW: out[n] = W [O, C] @ x[n] [C, H*W],
// which oneDNN's matmul runs with no layout change at all (twice as fast as conv plus reorders at SD's
// 64x64 projections). Its weights are packed as a plain [O, C] matrix for that reason.

#include <algorithm>

#include "kernels/cpu/detail/convert.hpp"
#include "kernels/cpu/detail/ops.hpp"

namespace crowdiff::kernels::cpu::detail {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

enum key_tag : int64_t {
  key_conv = 10,
  key_conv_src = 11,
  key_conv_dst = 12,
  key_conv_weight_reorder = 13,
  key_pointwise_conv = 14,
};

// The geometry the packed layout is chosen for: SD's largest latent resolution at batch 1. Other shapes
// that want another layout (oneDNN varies the 1x1 blocking with the image size) get it made once.
constexpr int64_t representative_size = 64;

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

struct conv_shape {
  int64_t n, c, h, w, o, kh, kw, oh, ow;
  conv2d_options options;
};

dnnl::convolution_forward::primitive_desc conv_pd(dnnl::engine& engine, const conv_shape& s, dtype compute,
                                                  bool bias) {
  const conv2d_options& o = s.options;
  const dnnl::memory::desc src({s.n, s.c, s.h, s.w}, to_dnnl(compute), tag::nhwc);
  const dnnl::memory::desc weights({s.o, s.c, s.kh, s.kw}, to_dnnl(compute), tag::any);
  const dnnl::memory::desc dst({s.n, s.o, s.oh, s.ow}, dt::f32, tag::nhwc);
  const dnnl::memory::dims strides{o.stride, o.stride}, pad_l{o.pad_top, o.pad_left},
      pad_r{o.pad_bottom, o.pad_right};
  const auto kind = dnnl::prop_kind::forward_inference;
  const auto algorithm = dnnl::algorithm::convolution_direct;
  if (bias) {
    const dnnl::memory::desc bias_md({s.o}, dt::f32, tag::a);
    return {
        dnnl::convolution_forward::desc(kind, algorithm, src, weights, bias_md, dst, strides, pad_l, pad_r),
        user_scratchpad(), engine};
  }
  return {dnnl::convolution_forward::desc(kind, algorithm, src, weights, dst, strides, pad_l, pad_r),
          user_scratchpad(), engine};
}

// A cached reorder between two layouts of the same tensor.
result<cached_primitive*> reorder_entry(cpu_env& env, const primitive_key& key,
                                        const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  cached_primitive* entry = env.dnnl.find(key);
  if (entry != nullptr)
    return entry;
  const status st = dnnl_runtime::guard("conv reorder", [&] {
    const dnnl::reorder::primitive_desc pd(env.dnnl.engine(), from, env.dnnl.engine(), to, user_scratchpad());
    entry = &env.dnnl.insert(key, dnnl::reorder(pd), pd, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
    return status::ok();
  });
  if (!st)
    return st;
  return entry;
}

result<operand> conv_weights(const tensor& w, const dnnl::memory::desc& want, cpu_env& env) {
  if (w.packed()) {
    auto pointer = static_cast<packed_weight*>(w.storage())->in_layout(want, env.dnnl);
    if (!pointer)
      return pointer.error();
    return operand{*pointer, {}};
  }
  const dtype from = w.dtype() == dtype::f16 ? dtype::f32 : w.dtype();
  auto source = in_dtype(w, from, env.scratch);
  if (!source)
    return source.error();
  auto target = scratch_block(env.scratch, want.get_size());
  if (!target)
    return target.error();
  const dnnl::memory::desc plain({w.size(0), w.size(1), w.size(2), w.size(3)}, to_dnnl(from), tag::oihw);
  const primitive_key key{key_conv_weight_reorder,
                          w.size(0),
                          w.size(1),
                          w.size(2),
                          w.size(3),
                          static_cast<int64_t>(from),
                          static_cast<int64_t>(env.compute)};
  auto entry = reorder_entry(env, key, plain, want);
  if (!entry)
    return entry.error();
  CROWDIFF_RETURN_IF_ERROR(env.dnnl.execute(
      **entry, {{DNNL_ARG_FROM, source->data}, {DNNL_ARG_TO, (*target)->data()}}, env.scratch));
  return operand{(*target)->data(), std::move(*target)};
}

bool is_pointwise(const conv2d_params& p) {
  const conv2d_options& o = p.options;
  return p.kh == 1 && p.kw == 1 && o.stride == 1 && o.pad_top == 0 && o.pad_bottom == 0 && o.pad_left == 0 &&
         o.pad_right == 0;
}

// The plain [O, C, 1, 1] layout of a 1x1 filter in the compute dtype.
dnnl::memory::desc pointwise_weight_desc(int64_t o, int64_t c, dtype compute) {
  return {{o, c, 1, 1}, to_dnnl(compute), tag::oihw};
}

// out[n] = W @ x[n] (+ bias per output channel, as a broadcast binary post-op: matmul's own bias cannot
// broadcast along H*W).
status pointwise_conv(const conv2d_params& p, cpu_env& env) {
  const int64_t pixels = p.h * p.w;
  const primitive_key key{key_pointwise_conv,      p.n, p.c, pixels, p.o, static_cast<int64_t>(env.compute),
                          p.bias.defined() ? 1 : 0};
  const int bias_arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1;
  cached_primitive* entry = env.dnnl.find(key);
  if (entry == nullptr) {
    const status st = dnnl_runtime::guard("pointwise conv2d", [&] {
      const dt compute = to_dnnl(env.compute);
      const dnnl::memory::desc weights({1, p.o, p.c}, compute, tag::abc);  // broadcast over the batch
      const dnnl::memory::desc images({p.n, p.c, pixels}, compute, tag::abc);
      const dnnl::memory::desc out({p.n, p.o, pixels}, dt::f32, tag::abc);
      const dnnl::memory::desc bias =
          p.bias.defined() ? dnnl::memory::desc({1, p.o, 1}, dt::f32, tag::abc) : dnnl::memory::desc();
      dnnl::primitive_attr attr = user_scratchpad();
      if (p.bias.defined()) {
        dnnl::post_ops ops;
        ops.append_binary(dnnl::algorithm::binary_add, bias);
        attr.set_post_ops(ops);
      }
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(weights, images, out), attr,
                                            env.dnnl.engine());
      entry = &env.dnnl.insert(
          key, dnnl::matmul(pd), pd,
          {{DNNL_ARG_SRC, weights}, {DNNL_ARG_WEIGHTS, images}, {DNNL_ARG_DST, out}, {bias_arg, bias}});
      return status::ok();
    });
    CROWDIFF_RETURN_IF_ERROR(st);
  }
  operand filter;
  if (p.weight.packed()) {
    auto pointer = static_cast<packed_weight*>(p.weight.storage())
                       ->in_layout(pointwise_weight_desc(p.o, p.c, env.compute), env.dnnl);
    if (!pointer)
      return pointer.error();
    filter.data = *pointer;
  } else {
    auto converted = in_dtype(p.weight, env.compute, env.scratch);
    if (!converted)
      return converted.error();
    filter = std::move(*converted);
  }
  auto images = in_dtype(p.x, env.compute, env.scratch);
  if (!images)
    return images.error();
  auto bias = p.bias.defined() ? in_dtype(p.bias, dtype::f32, env.scratch) : result<operand>(operand{});
  if (!bias)
    return bias.error();
  return env.dnnl.execute(*entry,
                          {{DNNL_ARG_SRC, filter.data},
                           {DNNL_ARG_WEIGHTS, images->data},
                           {DNNL_ARG_DST, p.out.data()},
                           {bias_arg, bias->data}},
                          env.scratch);
}

}  // namespace

status conv2d(const conv2d_params& p, cpu_env& env) {
  if (p.n == 0 || p.o == 0 || p.oh == 0 || p.ow == 0)
    return status::ok();
  if (is_pointwise(p))
    return pointwise_conv(p, env);
  const conv_shape s{p.n, p.c, p.h, p.w, p.o, p.kh, p.kw, p.oh, p.ow, p.options};
  const conv2d_options& o = p.options;
  const auto compute = static_cast<int64_t>(env.compute);
  const primitive_key key{key_conv,     p.n,        p.c,         p.h,      p.w,
                          p.o,          p.kh,       p.kw,        o.stride, o.pad_top,
                          o.pad_bottom, o.pad_left, o.pad_right, compute,  p.bias.defined() ? 1 : 0};
  cached_primitive* entry = env.dnnl.find(key);
  if (entry == nullptr) {
    const status st = dnnl_runtime::guard("conv2d", [&] {
      const auto pd = conv_pd(env.dnnl.engine(), s, env.compute, p.bias.defined());
      entry = &env.dnnl.insert(key, dnnl::convolution_forward(pd), pd,
                               {{DNNL_ARG_SRC, pd.src_desc()},
                                {DNNL_ARG_WEIGHTS, pd.weights_desc()},
                                {DNNL_ARG_BIAS, pd.bias_desc()},
                                {DNNL_ARG_DST, pd.dst_desc()}});
      return status::ok();
    });
    CROWDIFF_RETURN_IF_ERROR(st);
  }
  // NCHW f32 -> NHWC compute dtype.
  const dnnl::memory::dims src_dims{p.n, p.c, p.h, p.w}, dst_dims{p.n, p.o, p.oh, p.ow};
  auto src_entry = reorder_entry(env, primitive_key{key_conv_src, p.n, p.c, p.h, p.w, compute},
                                 dnnl::memory::desc(src_dims, dt::f32, tag::nchw),
                                 dnnl::memory::desc(src_dims, to_dnnl(env.compute), tag::nhwc));
  if (!src_entry)
    return src_entry.error();
  auto dst_entry = reorder_entry(env, primitive_key{key_conv_dst, p.n, p.o, p.oh, p.ow},
                                 dnnl::memory::desc(dst_dims, dt::f32, tag::nhwc),
                                 dnnl::memory::desc(dst_dims, dt::f32, tag::nchw));
  if (!dst_entry)
    return dst_entry.error();
  auto src = scratch_block(env.scratch, static_cast<size_t>(p.x.numel()) * dtype_size(env.compute));
  if (!src)
    return src.error();
  auto dst = scratch_block(env.scratch, p.out.nbytes());
  if (!dst)
    return dst.error();
  auto weights = conv_weights(p.weight, entry->weights_desc, env);
  if (!weights)
    return weights.error();
  auto bias = p.bias.defined() ? in_dtype(p.bias, dtype::f32, env.scratch) : result<operand>(operand{});
  if (!bias)
    return bias.error();
  CROWDIFF_RETURN_IF_ERROR(env.dnnl.execute(
      **src_entry, {{DNNL_ARG_FROM, p.x.data()}, {DNNL_ARG_TO, (*src)->data()}}, env.scratch));
  CROWDIFF_RETURN_IF_ERROR(env.dnnl.execute(*entry,
                                            {{DNNL_ARG_SRC, (*src)->data()},
                                             {DNNL_ARG_WEIGHTS, weights->data},
                                             {DNNL_ARG_BIAS, bias->data},
                                             {DNNL_ARG_DST, (*dst)->data()}},
                                            env.scratch));
  return env.dnnl.execute(**dst_entry, {{DNNL_ARG_FROM, (*dst)->data()}, {DNNL_ARG_TO, p.out.data()}},
                          env.scratch);
}

result<tensor> pack_conv_weight(const tensor& w, cpu_env& env) {
  if (w.numel() == 0)
    return status{errc::invalid_argument, "pack_conv_weight: empty weight " + w.shape().to_string()};
  auto source = w.dtype() == dtype::f16 ? tensor::host(w.shape(), dtype::f32) : result<tensor>(w);
  if (!source)
    return source.error();
  if (w.dtype() == dtype::f16)
    convert(w.data(), w.dtype(), source->mutable_data(), dtype::f32, w.numel());
  const int64_t kh = w.size(2), kw = w.size(3);
  const int64_t size = std::max({representative_size, kh, kw});
  // "same" padding keeps the output the size of the input.
  const conv_shape s{1,  w.size(1), size, size, w.size(0),
                     kh, kw,        size, size, {1, kh / 2, kh - 1 - kh / 2, kw / 2, kw - 1 - kw / 2}};
  storage_ref packed;
  const status st = dnnl_runtime::guard("packing a conv weight", [&] {
    const dnnl::memory::desc plain({w.size(0), w.size(1), kh, kw}, to_dnnl(source->dtype()), tag::oihw);
    dnnl::memory from(plain, env.dnnl.engine(), const_cast<void*>(source->data()));
    // 1x1 filters stay plain for the matmul path; others take the convolution's blocked layout.
    const dnnl::memory::desc layout = kh == 1 && kw == 1
                                          ? pointwise_weight_desc(w.size(0), w.size(1), env.compute)
                                          : conv_pd(env.dnnl.engine(), s, env.compute, false).weights_desc();
    dnnl::memory to(layout, env.dnnl.engine());
    dnnl::reorder(from, to).execute(env.dnnl.stream(), from, to);
    env.dnnl.stream().wait();
    packed = packed_weight::create(env.owner, to);
    return packed ? status::ok() : status{errc::resource_exhausted, "packed weight"};
  });
  if (!st)
    return st;
  return tensor::over(std::move(packed), 0, w.shape(), env.compute, /*packed=*/true);
}

}  // namespace crowdiff::kernels::cpu::detail
