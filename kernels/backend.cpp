#include "kernels/backend.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/status_macros.hpp"

namespace crowdiff::kernels {

namespace {

status bad(std::string message) {
  return {errc::invalid_argument, std::move(message)};
}

bool overlaps(const tensor& a, const tensor& b) {
  if (!a.defined() || !b.defined() || a.packed() || b.packed() || a.nbytes() == 0 || b.nbytes() == 0)
    return false;
  const auto* a0 = static_cast<const char*>(a.data());
  const auto* b0 = static_cast<const char*>(b.data());
  return a0 < b0 + b.nbytes() && b0 < a0 + a.nbytes();
}

int normalize_dim(int dim, int rank) {
  return dim < 0 ? dim + rank : dim;
}

}  // namespace

backend::backend(std::unique_ptr<device_allocator> upstream)
    : upstream_(std::move(upstream)), arena_(*upstream_) {}

backend::~backend() = default;

status backend::check_input(const tensor& t, std::string_view what, op_kind op) const {
  if (!t.defined())
    return bad(std::string(to_string(op)) + ": " + std::string(what) + " is undefined");
  if (t.device() != device())
    return bad(std::string(to_string(op)) + ": " + std::string(what) + " is on " + to_string(t.device()) +
               ", the backend on " + to_string(device()));
  if (t.packed())
    return bad(std::string(to_string(op)) + ": " + std::string(what) + " is a packed weight");
  if (!supports(op, t.dtype()))
    return {errc::unsupported, std::string(name()) + " backend: " + std::string(to_string(op)) + " on " +
                                   std::string(to_string(t.dtype())) + " " + std::string(what)};
  return status::ok();
}

status backend::check_weight(const tensor& t, std::string_view what) const {
  if (!t.defined())
    return bad(std::string(what) + " is undefined");
  if (t.device() != device())
    return bad(std::string(what) + " is on " + to_string(t.device()) + ", the backend on " +
               to_string(device()));
  if (!is_float(t.dtype()))
    return bad(std::string(what) + " has dtype " + std::string(to_string(t.dtype())));
  if (t.packed() && !owns_packed(t))
    return bad(std::string(what) + " was packed by another backend");
  return status::ok();
}

result<tensor> backend::resolve_out(const tensor& out, const shape& s, dtype t, op_kind op,
                                    bool may_alias_input, std::initializer_list<const tensor*> inputs) {
  if (!out.defined())
    return empty(s, t);
  // Messages are built only on failure: a valid op allocates nothing on the heap.
  const auto prefix = [op] { return std::string(to_string(op)) + ": out "; };
  if (out.shape() != s || out.dtype() != t)
    return bad(prefix() + out.to_string() + " where " + std::string(to_string(t)) + s.to_string() +
               " is produced");
  if (out.device() != device() || out.packed() || !out.writable())
    return bad(prefix() + out.to_string() + " is not a writable dense tensor on " + to_string(device()));
  for (const tensor* in : inputs) {
    if (!overlaps(out, *in))
      continue;
    const bool same = in->data() == out.data() && in->nbytes() == out.nbytes();
    if (!(may_alias_input && same))
      return bad(prefix() + "overlaps an input");
  }
  return out;
}

result<tensor> backend::empty(const shape& s, dtype t) {
  return arena_.allocate_tensor(s, t);
}

result<tensor> backend::upload(const tensor& host) {
  if (!host.defined() || host.packed() || host.device() != device::cpu())
    return bad("upload: the source must be a dense host tensor");
  const dtype target = is_float(host.dtype()) ? activation_dtype() : host.dtype();
  if (!is_float(host.dtype()) && host.dtype() != dtype::i32 && host.dtype() != dtype::i64)
    return bad("upload: dtype " + std::string(to_string(host.dtype())));
  CROWDIFF_ASSIGN_OR_RETURN(tensor out, empty(host.shape(), target));
  CROWDIFF_RETURN_IF_ERROR(run_copy(host, out));
  return out;
}

status backend::download(const tensor& src, const tensor& dst) {
  if (!src.defined() || src.packed() || src.device() != device())
    return bad("download: the source must be a dense tensor of this backend");
  if (!dst.defined() || dst.packed() || !dst.writable() || dst.device() != device::cpu())
    return bad("download: the destination must be a writable host tensor");
  if (dst.shape() != src.shape())
    return bad("download: " + src.to_string() + " into " + dst.to_string());
  const bool floats = is_float(src.dtype()) && is_float(dst.dtype());
  if (!floats && src.dtype() != dst.dtype())
    return bad("download: " + src.to_string() + " into " + dst.to_string());
  return run_copy(src, dst);
}

result<tensor> backend::prepare_weight(const tensor& w, weight_use use) {
  if (!w.defined() || w.packed() || !is_float(w.dtype()))
    return bad("prepare_weight: needs a dense float tensor, got " + w.to_string());
  if (w.device() != device() && w.device() != device::cpu())
    return bad("prepare_weight: " + w.to_string() + " is on another device");
  if (use == weight_use::linear && w.rank() != 2)
    return bad("prepare_weight: a linear weight is [out, in], got " + w.shape().to_string());
  if (use == weight_use::conv2d && w.rank() != 4)
    return bad("prepare_weight: a conv2d weight is [out, in, kh, kw], got " + w.shape().to_string());
  if (use == weight_use::embedding && w.rank() != 2)
    return bad("prepare_weight: an embedding table is [vocab, dim], got " + w.shape().to_string());
  return do_prepare_weight(w, use);
}

result<tensor> backend::linear(const tensor& x, const tensor& w, const tensor& bias, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::linear));
  CROWDIFF_RETURN_IF_ERROR(check_weight(w, "linear weight"));
  if (x.rank() < 1 || w.rank() != 2 || x.size(-1) != w.size(1))
    return bad("linear: x " + x.shape().to_string() + " with weight " + w.shape().to_string());
  if (bias.defined()) {
    CROWDIFF_RETURN_IF_ERROR(check_weight(bias, "linear bias"));
    if (bias.rank() != 1 || bias.size(0) != w.size(0))
      return bad("linear: bias " + bias.shape().to_string() + " for weight " + w.shape().to_string());
  }
  linear_params p{x, w, bias, {}, x.shape().numel(0, x.rank() - 1), w.size(1), w.size(0)};
  shape s = x.shape();
  s.set(-1, p.n);
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, s, x.dtype(), op_kind::linear, false, {&x, &w, &bias}));
  CROWDIFF_RETURN_IF_ERROR(run_linear(p));
  return p.out;
}

result<tensor> backend::matmul(const tensor& a, const tensor& b, matmul_options options, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(a, "a", op_kind::matmul));
  CROWDIFF_RETURN_IF_ERROR(check_input(b, "b", op_kind::matmul));
  if (a.rank() < 2 || b.rank() < 2 || a.dtype() != b.dtype())
    return bad("matmul: " + a.to_string() + " @ " + b.to_string());
  matmul_params p{a,
                  b,
                  {},
                  a.shape().numel(0, a.rank() - 2),
                  b.shape().numel(0, b.rank() - 2),
                  a.size(-2),
                  a.size(-1),
                  options.transpose_b ? b.size(-2) : b.size(-1),
                  options};
  const int64_t bk = options.transpose_b ? b.size(-1) : b.size(-2);
  if (bk != p.k || (p.batch_b != p.batch && p.batch_b != 1) || !std::isfinite(options.alpha))
    return bad("matmul: " + a.shape().to_string() + " @ " + b.shape().to_string() +
               (options.transpose_b ? "^T" : ""));
  shape s = a.shape();
  s.set(-1, p.n);
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, s, a.dtype(), op_kind::matmul, false, {&a, &b}));
  CROWDIFF_RETURN_IF_ERROR(run_matmul(p));
  return p.out;
}

result<tensor> backend::conv2d(const tensor& x, const tensor& weight, const tensor& bias,
                               conv2d_options options, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::conv2d));
  CROWDIFF_RETURN_IF_ERROR(check_weight(weight, "conv2d weight"));
  if (x.rank() != 4 || weight.rank() != 4 || x.size(1) != weight.size(1))
    return bad("conv2d: x " + x.shape().to_string() + " with weight " + weight.shape().to_string());
  if (bias.defined()) {
    CROWDIFF_RETURN_IF_ERROR(check_weight(bias, "conv2d bias"));
    if (bias.rank() != 1 || bias.size(0) != weight.size(0))
      return bad("conv2d: bias " + bias.shape().to_string() + " for weight " + weight.shape().to_string());
  }
  const conv2d_options& o = options;
  if (o.stride < 1 || o.pad_top < 0 || o.pad_bottom < 0 || o.pad_left < 0 || o.pad_right < 0)
    return bad("conv2d: stride must be >= 1 and padding >= 0");
  conv2d_params p{x,
                  weight,
                  bias,
                  {},
                  x.size(0),
                  x.size(1),
                  x.size(2),
                  x.size(3),
                  weight.size(0),
                  weight.size(2),
                  weight.size(3),
                  0,
                  0,
                  options};
  const int64_t padded_h = p.h + o.pad_top + o.pad_bottom;
  const int64_t padded_w = p.w + o.pad_left + o.pad_right;
  if (p.kh < 1 || p.kw < 1 || padded_h < p.kh || padded_w < p.kw || p.c < 1)
    return bad("conv2d: kernel " + weight.shape().to_string() + " larger than padded input " +
               x.shape().to_string());
  p.oh = (padded_h - p.kh) / o.stride + 1;
  p.ow = (padded_w - p.kw) / o.stride + 1;
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, shape{p.n, p.o, p.oh, p.ow}, x.dtype(), op_kind::conv2d,
                                               false, {&x, &weight, &bias}));
  CROWDIFF_RETURN_IF_ERROR(run_conv2d(p));
  return p.out;
}

result<tensor> backend::group_norm(const tensor& x, int64_t groups, const tensor& gamma, const tensor& beta,
                                   float eps, bool fuse_silu, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::group_norm));
  if (x.rank() < 2 || groups < 1 || x.size(1) % groups != 0 || !(eps >= 0.0f) || !std::isfinite(eps))
    return bad("group_norm: " + std::to_string(groups) + " groups over " + x.shape().to_string());
  for (const tensor* t : {&gamma, &beta}) {
    if (!t->defined())
      continue;
    CROWDIFF_RETURN_IF_ERROR(check_weight(*t, "group_norm affine parameter"));
    if (t->rank() != 1 || t->size(0) != x.size(1))
      return bad("group_norm: affine parameter " + t->shape().to_string() + " for " + x.shape().to_string());
  }
  group_norm_params p{x,   gamma,    beta, {}, x.size(0), x.size(1), groups, x.shape().numel(2, x.rank()),
                      eps, fuse_silu};
  CROWDIFF_ASSIGN_OR_RETURN(
      p.out, resolve_out(out, x.shape(), x.dtype(), op_kind::group_norm, false, {&x, &gamma, &beta}));
  CROWDIFF_RETURN_IF_ERROR(run_group_norm(p));
  return p.out;
}

result<tensor> backend::layer_norm(const tensor& x, const tensor& gamma, const tensor& beta, float eps,
                                   const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::layer_norm));
  if (x.rank() < 1 || x.size(-1) < 1 || !(eps >= 0.0f) || !std::isfinite(eps))
    return bad("layer_norm over " + x.shape().to_string());
  for (const tensor* t : {&gamma, &beta}) {
    if (!t->defined())
      continue;
    CROWDIFF_RETURN_IF_ERROR(check_weight(*t, "layer_norm affine parameter"));
    if (t->rank() != 1 || t->size(0) != x.size(-1))
      return bad("layer_norm: affine parameter " + t->shape().to_string() + " for " + x.shape().to_string());
  }
  layer_norm_params p{x, gamma, beta, {}, x.shape().numel(0, x.rank() - 1), x.size(-1), eps};
  CROWDIFF_ASSIGN_OR_RETURN(
      p.out, resolve_out(out, x.shape(), x.dtype(), op_kind::layer_norm, false, {&x, &gamma, &beta}));
  CROWDIFF_RETURN_IF_ERROR(run_layer_norm(p));
  return p.out;
}

result<tensor> backend::attention(const tensor& q, const tensor& k, const tensor& v, int64_t heads,
                                  attention_options options, const tensor& out) {
  for (const auto& [t, what] : {std::pair{&q, "q"}, std::pair{&k, "k"}, std::pair{&v, "v"}})
    CROWDIFF_RETURN_IF_ERROR(check_input(*t, what, op_kind::attention));
  const auto describe = [&] {
    return "attention: q " + q.shape().to_string() + ", k " + k.shape().to_string() + ", v " +
           v.shape().to_string() + ", " + std::to_string(heads) + " heads";
  };
  if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3 || heads < 1 || q.dtype() != k.dtype() ||
      q.dtype() != v.dtype())
    return bad(describe());
  if (k.size(0) != q.size(0) || v.size(0) != q.size(0) || k.size(1) != v.size(1) || k.size(1) < 1 ||
      q.size(2) % heads != 0 || k.size(2) != q.size(2) || v.size(2) % heads != 0 || q.size(2) == 0 ||
      v.size(2) == 0)
    return bad(describe());
  if (!std::isfinite(options.scale))
    return bad("attention: scale is not finite");
  attention_params p{q,
                     k,
                     v,
                     {},
                     q.size(0),
                     heads,
                     q.size(1),
                     k.size(1),
                     q.size(2) / heads,
                     v.size(2) / heads,
                     options.scale,
                     options.causal};
  if (p.scale == 0.0f)
    p.scale = 1.0f / std::sqrt(static_cast<float>(p.head_dim));
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, shape{p.batch, p.lq, v.size(2)}, q.dtype(),
                                               op_kind::attention, false, {&q, &k, &v}));
  CROWDIFF_RETURN_IF_ERROR(run_attention(p));
  return p.out;
}

result<tensor> backend::softmax(const tensor& x, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::softmax));
  if (x.rank() < 1 || x.size(-1) < 1)
    return bad("softmax over " + x.shape().to_string());
  softmax_params p{x, {}, x.shape().numel(0, x.rank() - 1), x.size(-1)};
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, x.shape(), x.dtype(), op_kind::softmax, true, {&x}));
  CROWDIFF_RETURN_IF_ERROR(run_softmax(p));
  return p.out;
}

result<tensor> backend::activate(const tensor& x, activation function, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::activation));
  activation_params p{x, {}, x.numel(), function};
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, x.shape(), x.dtype(), op_kind::activation, true, {&x}));
  CROWDIFF_RETURN_IF_ERROR(run_activation(p));
  return p.out;
}

result<tensor> backend::geglu(const tensor& x, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::geglu));
  if (x.rank() < 1 || x.size(-1) % 2 != 0)
    return bad("geglu: the last dimension of " + x.shape().to_string() + " must be even");
  geglu_params p{x, {}, x.shape().numel(0, x.rank() - 1), x.size(-1) / 2};
  shape s = x.shape();
  s.set(-1, p.half);
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, s, x.dtype(), op_kind::geglu, false, {&x}));
  CROWDIFF_RETURN_IF_ERROR(run_geglu(p));
  return p.out;
}

result<tensor> backend::upsample_nearest(const tensor& x, int64_t factor, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::upsample_nearest));
  if (x.rank() != 4 || factor < 1)
    return bad("upsample_nearest: x " + x.shape().to_string() + ", factor " + std::to_string(factor));
  upsample_params p{x, {}, x.size(0) * x.size(1), x.size(2), x.size(3), factor};
  const shape s{x.size(0), x.size(1), x.size(2) * factor, x.size(3) * factor};
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, s, x.dtype(), op_kind::upsample_nearest, false, {&x}));
  CROWDIFF_RETURN_IF_ERROR(run_upsample(p));
  return p.out;
}

namespace {

// Right-aligns b against a, gives broadcast dimensions stride 0, and merges neighbours that walk memory
// alike, so that e.g. [N, C, H, W] + [N, C, 1, 1] becomes [N*C, H*W] with b strides [1, 0].
bool collapse_broadcast(const shape& a, const shape& b, binary_params& p) {
  if (b.rank() > a.rank())
    return false;
  std::array<int64_t, shape::max_rank> dims{}, strides{};
  int64_t stride = 1;
  for (int i = a.rank() - 1; i >= 0; --i) {
    const int j = i - (a.rank() - b.rank());
    const int64_t extent = j >= 0 ? b[j] : 1;
    if (extent != a[i] && extent != 1)
      return false;
    dims[static_cast<size_t>(i)] = a[i];
    strides[static_cast<size_t>(i)] = extent == 1 ? 0 : stride;
    stride *= extent;
  }
  p.rank = 0;
  for (int i = 0; i < a.rank(); ++i) {
    const auto u = static_cast<size_t>(i);
    if (dims[u] == 1)
      continue;  // size-1 dimensions carry no information
    if (p.rank > 0) {
      const auto last = static_cast<size_t>(p.rank - 1);
      if (p.b_strides[last] == strides[u] * dims[u]) {
        p.dims[last] *= dims[u];
        p.b_strides[last] = strides[u];
        continue;
      }
    }
    p.dims[static_cast<size_t>(p.rank)] = dims[u];
    p.b_strides[static_cast<size_t>(p.rank)] = strides[u];
    ++p.rank;
  }
  if (p.rank == 0) {
    p.rank = 1;
    p.dims[0] = 1;
    p.b_strides[0] = 0;
  }
  return true;
}

}  // namespace

result<tensor> backend::add(const tensor& a, const tensor& b, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(a, "a", op_kind::add));
  CROWDIFF_RETURN_IF_ERROR(check_input(b, "b", op_kind::add));
  binary_params p{a, b, {}, binary_params::kind::add};
  if (a.dtype() != b.dtype() || !collapse_broadcast(a.shape(), b.shape(), p))
    return bad("add: " + b.to_string() + " does not broadcast to " + a.to_string());
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, a.shape(), a.dtype(), op_kind::add, true, {&a, &b}));
  CROWDIFF_RETURN_IF_ERROR(run_binary(p));
  return p.out;
}

result<tensor> backend::mul(const tensor& a, const tensor& b, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(a, "a", op_kind::mul));
  CROWDIFF_RETURN_IF_ERROR(check_input(b, "b", op_kind::mul));
  binary_params p{a, b, {}, binary_params::kind::mul};
  if (a.dtype() != b.dtype() || !collapse_broadcast(a.shape(), b.shape(), p))
    return bad("mul: " + b.to_string() + " does not broadcast to " + a.to_string());
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, a.shape(), a.dtype(), op_kind::mul, true, {&a, &b}));
  CROWDIFF_RETURN_IF_ERROR(run_binary(p));
  return p.out;
}

result<tensor> backend::scale(const tensor& x, float alpha, float beta, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::scale));
  if (!std::isfinite(alpha) || !std::isfinite(beta))
    return bad("scale: alpha and beta must be finite");
  scale_params p{x, {}, x.numel(), alpha, beta};
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, x.shape(), x.dtype(), op_kind::scale, true, {&x}));
  CROWDIFF_RETURN_IF_ERROR(run_scale(p));
  return p.out;
}

result<tensor> backend::concat(std::span<const tensor> inputs, int dim, const tensor& out) {
  if (inputs.empty())
    return bad("concat of nothing");
  const tensor& first = inputs[0];
  CROWDIFF_RETURN_IF_ERROR(check_input(first, "input", op_kind::concat));
  const int d = normalize_dim(dim, first.rank());
  if (d < 0 || d >= first.rank())
    return bad("concat: dimension " + std::to_string(dim) + " of " + first.shape().to_string());
  shape s = first.shape();
  int64_t total = 0;
  for (const tensor& t : inputs) {
    CROWDIFF_RETURN_IF_ERROR(check_input(t, "input", op_kind::concat));
    bool same = t.rank() == first.rank() && t.dtype() == first.dtype();
    for (int i = 0; same && i < t.rank(); ++i)
      same = i == d || t.size(i) == first.size(i);
    if (!same)
      return bad("concat: " + t.to_string() + " does not match " + first.to_string() + " outside dimension " +
                 std::to_string(d));
    total += t.size(d);
  }
  s.set(d, total);
  concat_params p{inputs, {}, first.shape().numel(0, d)};
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, s, first.dtype(), op_kind::concat, false, {}));
  for (const tensor& t : inputs) {
    if (overlaps(p.out, t))
      return bad("concat: out overlaps an input");
  }
  CROWDIFF_RETURN_IF_ERROR(run_concat(p));
  return p.out;
}

result<tensor> backend::permute(const tensor& x, std::span<const int> perm, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::permute));
  if (static_cast<int>(perm.size()) != x.rank())
    return bad("permute: " + std::to_string(perm.size()) + " axes for " + x.shape().to_string());
  permute_params p{x, {}, x.rank(), {}};
  std::array<bool, shape::max_rank> seen{};
  shape s = x.shape();
  for (int i = 0; i < x.rank(); ++i) {
    const int axis = perm[static_cast<size_t>(i)];
    if (axis < 0 || axis >= x.rank() || seen[static_cast<size_t>(axis)])
      return bad("permute: not a permutation of " + std::to_string(x.rank()) + " axes");
    seen[static_cast<size_t>(axis)] = true;
    p.perm[static_cast<size_t>(i)] = axis;
    s.set(i, x.size(axis));
  }
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, s, x.dtype(), op_kind::permute, false, {&x}));
  CROWDIFF_RETURN_IF_ERROR(run_permute(p));
  return p.out;
}

result<tensor> backend::slice(const tensor& x, int dim, int64_t start, int64_t length, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::slice));
  const int d = normalize_dim(dim, x.rank());
  if (d < 0 || d >= x.rank() || start < 0 || length < 0 || start + length > x.size(d))
    return bad("slice [" + std::to_string(start) + ", +" + std::to_string(length) + ") of dimension " +
               std::to_string(dim) + " of " + x.shape().to_string());
  slice_params p{x, {}, x.shape().numel(0, d), x.size(d), x.shape().numel(d + 1, x.rank()), start, length};
  shape s = x.shape();
  s.set(d, length);
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, s, x.dtype(), op_kind::slice, false, {&x}));
  CROWDIFF_RETURN_IF_ERROR(run_slice(p));
  return p.out;
}

result<tensor> backend::embedding(const tensor& ids, const tensor& table, const tensor& out) {
  if (!ids.defined() || ids.device() != device() || ids.packed() ||
      (ids.dtype() != dtype::i32 && ids.dtype() != dtype::i64))
    return bad("embedding: ids must be a dense i32 or i64 tensor on " + to_string(device()));
  CROWDIFF_RETURN_IF_ERROR(check_weight(table, "embedding table"));
  if (table.rank() != 2 || table.packed() || ids.rank() >= shape::max_rank)
    return bad("embedding: table " + table.shape().to_string() + ", ids " + ids.shape().to_string());
  if (!supports(op_kind::embedding, activation_dtype()))
    return {errc::unsupported, std::string(name()) + " backend: embedding"};
  embedding_params p{ids, table, {}, ids.numel(), table.size(0), table.size(1)};
  std::array<int64_t, shape::max_rank> extents{};
  std::copy(ids.shape().extents().begin(), ids.shape().extents().end(), extents.begin());
  extents[static_cast<size_t>(ids.rank())] = p.dim;
  const shape s(std::span<const int64_t>(extents.data(), static_cast<size_t>(ids.rank() + 1)));
  CROWDIFF_ASSIGN_OR_RETURN(
      p.out, resolve_out(out, s, activation_dtype(), op_kind::embedding, false, {&ids, &table}));
  CROWDIFF_RETURN_IF_ERROR(run_embedding(p));
  return p.out;
}

result<tensor> backend::convert(const tensor& x, dtype t, const tensor& out) {
  CROWDIFF_RETURN_IF_ERROR(check_input(x, "x", op_kind::convert));
  if (!is_float(x.dtype()) || !is_float(t))
    return bad("convert: " + x.to_string() + " to " + std::string(to_string(t)));
  convert_params p{x, {}};
  CROWDIFF_ASSIGN_OR_RETURN(p.out, resolve_out(out, x.shape(), t, op_kind::convert, false, {&x}));
  CROWDIFF_RETURN_IF_ERROR(run_convert(p));
  return p.out;
}

}  // namespace crowdiff::kernels
