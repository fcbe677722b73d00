#pragma once

// Runtime choices of the fused attention kernel turned into template arguments, in one place: the element
// type and the head-dim bucket. Used by the launcher and by the emulation test alike.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "kernels/cuda/detail/attention/flash_traits.hpp"

namespace crowdiff::kernels::cuda {

/// Calls `f.template operator()<Dp>()` for the bucket of `head_dim` (at most flash_max_head_dim).
template <class F>
decltype(auto) switch_head_dim(int head_dim, F&& f) {
  switch (flash_bucket(head_dim)) {
    case 48:
      return f.template operator()<48>();
    case 64:
      return f.template operator()<64>();
    case 80:
      return f.template operator()<80>();
    case 128:
      return f.template operator()<128>();
    default:
      return f.template operator()<160>();
  }
}

/// Calls `f.template operator()<T>()` with T = __nv_bfloat16 when `bf16`, else __half.
template <class F>
decltype(auto) switch_half_type(bool bf16, F&& f) {
  if (bf16)
    return f.template operator()<__nv_bfloat16>();
  return f.template operator()<__half>();
}

}  // namespace crowdiff::kernels::cuda
