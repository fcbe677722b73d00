#pragma once

#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>

#include "common/status.hpp"
#include "kernels/arena.hpp"
#include "kernels/op_params.hpp"
#include "kernels/ops.hpp"
#include "kernels/tensor.hpp"

namespace crowdiff::kernels {

/// The op interface that models call, one implementation per device (CPU via oneDNN, the plain-loop
/// reference, CUDA). Every public op validates its inputs the same way for every backend: a bad shape, a
/// dtype the backend does not support, a tensor on another device or a weight packed by another backend is
/// an error status, never undefined behaviour. Then it writes into `out` when `out` is defined (its shape
/// and dtype must be the ones the op produces) or into a new tensor from the backend's arena otherwise.
///
/// Activations are dense row-major tensors in `activation_dtype()`; 4-D image tensors are NCHW. Matmuls
/// and convolutions multiply in `compute_dtype()` and accumulate in f32.
///
/// Not thread-safe: one thread drives a backend at a time (the backend itself uses every core it was given).
/// Tensors from a backend's arena must be released before the backend is destroyed.
class backend {
 public:
  backend(const backend&) = delete;
  backend& operator=(const backend&) = delete;
  virtual ~backend();

  /// "cpu", "reference", "cuda".
  virtual std::string_view name() const = 0;
  /// The device that holds this backend's tensors.
  kernels::device device() const { return arena_.device(); }
  /// dtype of the activations the ops take and produce.
  virtual dtype activation_dtype() const = 0;
  /// dtype in which matmul, linear, conv2d and attention multiply (f32 accumulation always).
  virtual dtype compute_dtype() const = 0;
  /// Whether `op` runs on activations of dtype `t`.
  virtual bool supports(op_kind op, dtype t) const = 0;

  /// The activation memory; its stats show whether a step allocated.
  kernels::arena& memory() { return arena_; }

  // ---- memory ----

  /// An uninitialized tensor from the arena.
  result<tensor> empty(const shape& s, dtype t);
  /// An uninitialized activation tensor from the arena.
  result<tensor> empty(const shape& s) { return empty(s, activation_dtype()); }
  /// Copies a host tensor (any float dtype, or i32/i64 ids) onto this backend. Float data becomes
  /// `activation_dtype()`, ids keep their dtype.
  result<tensor> upload(const tensor& host);
  /// Copies `src` (on this backend) into the host tensor `dst` of the same shape, converting between float
  /// dtypes.
  status download(const tensor& src, const tensor& dst);
  /// Makes a weight ready for `use`: converted to the dtype the op computes in and, where the backend gains
  /// from it, repacked into its own layout (then `packed()`). Call once at load and keep the result; the
  /// input (e.g. borrowed from a mapped file) may be dropped afterwards unless the result borrows it, which
  /// happens when no conversion is needed (then its memory must stay mapped). Ops accept unprepared weights
  /// too, converting them on every call. Packed results must not outlive this backend. invalid_argument for
  /// a tensor that is not dense float data, or whose rank does not fit `use`.
  result<tensor> prepare_weight(const tensor& w, weight_use use);

  // ---- ops ----  (`out` optional everywhere: see the class comment)

  /// y = x @ w^T + bias: x [.., in], w [out, in] (PyTorch Linear layout, or prepared), bias [out] or
  /// undefined -> [.., out].
  result<tensor> linear(const tensor& x, const tensor& w, const tensor& bias = {}, const tensor& out = {});
  /// Batched matmul: a [.., M, K] @ b [.., K, N] (b [.., N, K] when transposed) -> [.., M, N]; b's batch
  /// is a's or 1.
  result<tensor> matmul(const tensor& a, const tensor& b, matmul_options options = {},
                        const tensor& out = {});
  /// 2-D convolution: x [N, C, H, W], weight [O, C, kh, kw] (or prepared), bias [O] or undefined ->
  /// [N, O, OH, OW].
  result<tensor> conv2d(const tensor& x, const tensor& weight, const tensor& bias, conv2d_options options,
                        const tensor& out = {});
  /// Group norm over x [N, C, ...] with `groups` groups, affine when gamma/beta are defined ([C]); then SiLU
  /// when `fuse_silu`.
  result<tensor> group_norm(const tensor& x, int64_t groups, const tensor& gamma, const tensor& beta,
                            float eps, bool fuse_silu = false, const tensor& out = {});
  /// Layer norm over the last dimension, affine when gamma/beta are defined ([D]).
  result<tensor> layer_norm(const tensor& x, const tensor& gamma, const tensor& beta, float eps,
                            const tensor& out = {});
  /// softmax(scale * q k^T) v per head, heads side by side in the last dimension: q [N, Lq, H*D],
  /// k [N, Lk, H*D], v [N, Lk, H*Dv] -> [N, Lq, H*Dv]. Never materializes the [Lq, Lk] scores on the
  /// optimized backends.
  result<tensor> attention(const tensor& q, const tensor& k, const tensor& v, int64_t heads,
                           attention_options options = {}, const tensor& out = {});
  /// Softmax over the last dimension.
  result<tensor> softmax(const tensor& x, const tensor& out = {});
  /// Pointwise activation; `out` may be `x` (in place).
  result<tensor> activate(const tensor& x, activation function, const tensor& out = {});
  result<tensor> silu(const tensor& x, const tensor& out = {}) { return activate(x, activation::silu, out); }
  result<tensor> gelu(const tensor& x, const tensor& out = {}) { return activate(x, activation::gelu, out); }
  /// x [.., 2F] -> x[.., :F] * gelu(x[.., F:]) [.., F].
  result<tensor> geglu(const tensor& x, const tensor& out = {});
  /// Nearest-neighbour upsampling of x [N, C, H, W] by `factor` -> [N, C, H*factor, W*factor].
  result<tensor> upsample_nearest(const tensor& x, int64_t factor = 2, const tensor& out = {});
  /// a + b, b broadcast to a's shape (NumPy rules, aligned at the right: reshape a [N, C] time embedding to
  /// [N, C, 1, 1] to add it to [N, C, H, W]). `out` may be `a`.
  result<tensor> add(const tensor& a, const tensor& b, const tensor& out = {});
  /// a * b with the broadcasting of `add`.
  result<tensor> mul(const tensor& a, const tensor& b, const tensor& out = {});
  /// alpha * x + beta; `out` may be `x`.
  result<tensor> scale(const tensor& x, float alpha, float beta = 0.0f, const tensor& out = {});
  /// The inputs joined along `dim` (negative counts from the back); all other extents must match.
  result<tensor> concat(std::span<const tensor> inputs, int dim, const tensor& out = {});
  result<tensor> concat(std::initializer_list<tensor> inputs, int dim, const tensor& out = {}) {
    return concat(std::span<const tensor>(inputs.begin(), inputs.size()), dim, out);
  }
  /// Dimensions reordered (a copy): out dimension i is x dimension perm[i].
  result<tensor> permute(const tensor& x, std::span<const int> perm, const tensor& out = {});
  result<tensor> permute(const tensor& x, std::initializer_list<int> perm, const tensor& out = {}) {
    return permute(x, std::span<const int>(perm.begin(), perm.size()), out);
  }
  /// x[.., start : start + length, ..] along `dim` (a copy; `tensor::narrow` is the free view along dim 0).
  result<tensor> slice(const tensor& x, int dim, int64_t start, int64_t length, const tensor& out = {});
  /// Rows of `table` [V, D] picked by `ids` (i32/i64, any shape) -> ids.shape + [D]. An id out of range is
  /// invalid_argument.
  result<tensor> embedding(const tensor& ids, const tensor& table, const tensor& out = {});
  /// x converted to float dtype `t`.
  result<tensor> convert(const tensor& x, dtype t, const tensor& out = {});

 protected:
  explicit backend(std::unique_ptr<device_allocator> upstream);

  /// Whether `w` was packed by this backend (and so may be passed to run_linear / run_conv2d).
  virtual bool owns_packed(const tensor& w) const = 0;
  /// Backend half of `prepare_weight`, after the common checks (w is dense, a float dtype, on this device
  /// or the host).
  virtual result<tensor> do_prepare_weight(const tensor& w, weight_use use) = 0;
  /// Copies between the host and this device (or within either), converting float dtypes; same numel.
  virtual status run_copy(const tensor& src, const tensor& dst) = 0;

  virtual status run_linear(const linear_params& p) = 0;
  virtual status run_matmul(const matmul_params& p) = 0;
  virtual status run_conv2d(const conv2d_params& p) = 0;
  virtual status run_group_norm(const group_norm_params& p) = 0;
  virtual status run_layer_norm(const layer_norm_params& p) = 0;
  virtual status run_attention(const attention_params& p) = 0;
  virtual status run_softmax(const softmax_params& p) = 0;
  virtual status run_activation(const activation_params& p) = 0;
  virtual status run_geglu(const geglu_params& p) = 0;
  virtual status run_upsample(const upsample_params& p) = 0;
  virtual status run_binary(const binary_params& p) = 0;
  virtual status run_scale(const scale_params& p) = 0;
  virtual status run_concat(const concat_params& p) = 0;
  virtual status run_permute(const permute_params& p) = 0;
  virtual status run_slice(const slice_params& p) = 0;
  virtual status run_embedding(const embedding_params& p) = 0;
  virtual status run_convert(const convert_params& p) = 0;

 private:
  // Shared validation: every input defined, on this device, of a supported dtype; `out` resolved.
  status check_input(const tensor& t, std::string_view what, op_kind op) const;
  status check_weight(const tensor& t, std::string_view what) const;
  result<tensor> resolve_out(const tensor& out, const shape& s, dtype t, op_kind op, bool may_alias_input,
                             std::initializer_list<const tensor*> inputs);

  std::unique_ptr<device_allocator> upstream_;
  kernels::arena arena_;
};

}  // namespace crowdiff::kernels
