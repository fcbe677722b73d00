#pragma once

// The plain description of one fused attention launch, filled and validated by the host entry point
// (attention.cpp) and read by the kernel (flash_kernel.cuh). Pointers are device pointers (host pointers
// under the test emulation); strides count elements.

#include <cstdint>

namespace crowdiff::kernels::cuda {

struct flash_params {
  const void* q = nullptr;  ///< [batch, lq, heads * d]
  const void* k = nullptr;  ///< [batch, lk, heads * d]
  const void* v = nullptr;  ///< [batch, lk, heads * dv]
  void* out = nullptr;      ///< [batch, lq, heads * dv]
  int64_t q_batch_stride = 0, k_batch_stride = 0, v_batch_stride = 0, out_batch_stride = 0;
  int64_t q_row_stride = 0, k_row_stride = 0, v_row_stride = 0, out_row_stride = 0;
  int batch = 0, heads = 0, lq = 0, lk = 0;
  int d = 0;   ///< Head dim of q and k.
  int dv = 0;  ///< Head dim of v and out.
  /// softmax scale times log2(e): the kernel exponentiates with exp2.
  float scale_log2 = 0.0f;
  bool causal = false;  ///< Query i sees keys j <= i.
  /// Every row of q, k and v starts on 16 bytes and d, dv are multiples of 8: tiles load with cp.async.
  bool vector_loads = false;
  /// out rows start on 4 bytes and dv is even: results are stored two at a time.
  bool pair_stores = false;
};

}  // namespace crowdiff::kernels::cuda
