#pragma once

#include "common/status.hpp"
#include "kernels/arena.hpp"
#include "kernels/cpu/detail/dnnl_runtime.hpp"
#include "kernels/tensor.hpp"

namespace crowdiff::kernels::cpu::detail {

/// What the CPU op implementations share: scratch memory, oneDNN, and the precision policy.
struct cpu_env {
  arena& scratch;
  dnnl_runtime& dnnl;
  dtype compute;          ///< f32 or bf16: what matmul, conv and attention multiply in.
  const void* owner;      ///< Marks the packed weights of this backend.
  bool bf16_dot = false;  ///< The CPU has AVX512-BF16 dot products, used by our attention kernel.
};

/// A tensor's elements in a wanted dtype: its own data when it already is, else a converted scratch copy.
struct operand {
  const void* data = nullptr;
  storage_ref holder;  ///< Keeps a scratch copy alive.
};

/// `t` in dtype `to` (float dtypes), converting into `scratch` when needed.
result<operand> in_dtype(const tensor& t, dtype to, arena& scratch);

/// `bytes` of scratch.
result<storage_ref> scratch_block(arena& scratch, size_t bytes);

}  // namespace crowdiff::kernels::cpu::detail
