#pragma once

// Warp and block reductions in f32 for the normalization and softmax kernels.

#include <cmath>

#include "kernels/cuda/detail/device_primitives.cuh"

namespace crowdiff::kernels::cuda {

CROWDIFF_DEVICE float warp_sum(float v) {
  CROWDIFF_UNROLL
  for (int mask = 16; mask > 0; mask /= 2)
    v += shfl_xor(v, mask);
  return v;
}

CROWDIFF_DEVICE float warp_max(float v) {
  CROWDIFF_UNROLL
  for (int mask = 16; mask > 0; mask /= 2)
    v = fmaxf(v, shfl_xor(v, mask));
  return v;
}

/// The sum of `v` over the block, returned to every thread. `scratch` is 32 floats of shared memory; every
/// thread of the block must call it (it synchronizes twice).
CROWDIFF_DEVICE float block_sum(float v, float* scratch) {
  const unsigned warp = thread_x() / 32, lane = thread_x() % 32, warps = (block_dim_x() + 31) / 32;
  v = warp_sum(v);
  if (lane == 0)
    scratch[warp] = v;
  sync_threads();
  float total = 0.0f;
  for (unsigned w = 0; w < warps; ++w)
    total += scratch[w];
  sync_threads();  // scratch may be reused by the next call
  return total;
}

}  // namespace crowdiff::kernels::cuda
