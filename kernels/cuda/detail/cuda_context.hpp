#pragma once

#include <cstddef>

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "common/status.hpp"
#include "kernels/arena.hpp"
#include "kernels/dtype.hpp"

namespace crowdiff::kernels::cuda {

class matmul_plans;
class conv_plans;

/// What every op of the CUDA backend works with: the device, the activation dtype, the one stream, the
/// library handles bound to it, and the arena for temporaries. Owned by the backend; ops borrow it.
struct cuda_context {
  int ordinal = 0;
  dtype act = dtype::f16;
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  cudnnHandle_t dnn = nullptr;
  void* lt_workspace = nullptr;  ///< cuBLASLt's workspace, fixed so that graph captures see one pointer
  size_t lt_workspace_bytes = 0;
  int multiprocessors = 1;
  kernels::arena* memory = nullptr;
  matmul_plans* matmuls = nullptr;
  conv_plans* convs = nullptr;

  bool bf16() const { return act == dtype::bf16; }
  /// Device scratch memory, reusable by later work as soon as the handle is dropped (stream order).
  result<storage_ref> scratch(size_t bytes) const { return memory->allocate(bytes == 0 ? 1 : bytes); }
  /// Whether the stream is being captured into a graph (then nothing may synchronize).
  bool capturing() const {
    cudaStreamCaptureStatus s = cudaStreamCaptureStatusNone;
    return cudaStreamIsCapturing(stream, &s) == cudaSuccess && s != cudaStreamCaptureStatusNone;
  }
};

}  // namespace crowdiff::kernels::cuda
