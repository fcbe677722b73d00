#pragma once

// The CUDA backend's public face: its factory and options, and the device queries a worker uses to make one
// backend per GPU. Includes no CUDA header; code that builds without CUDA tests CROWDIFF_HAVE_CUDA (defined
// by the crowdiff_kernels_cuda target) before including it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"

namespace crowdiff::kernels {

struct cuda_options {
  int device = 0;                  ///< CUDA device ordinal.
  dtype activations = dtype::f16;  ///< f16 or bf16: the dtype of every activation (and of prepared weights).
};

/// What a worker reports about a GPU.
struct cuda_device_info {
  int ordinal = 0;
  std::string name;          ///< "NVIDIA H100 80GB HBM3"
  int major = 0, minor = 0;  ///< compute capability
  int multiprocessors = 0;
  size_t total_memory = 0;  ///< bytes
  size_t free_memory = 0;   ///< bytes, when asked
  /// Whether the backend runs on it: compute capability 8.0 or later (the tensor-core kernels' mma.sync).
  bool supported() const { return major >= 8; }
  /// "cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)".
  std::string to_string() const;
};

/// The number of CUDA devices; 0 when there is no GPU or no driver (never an error).
int cuda_device_count();

/// Every CUDA device; empty when there is none. unavailable when the driver fails in another way.
result<std::vector<cuda_device_info>> cuda_devices();

/// One line saying why no GPU is usable ("no CUDA driver: ...", "no CUDA device"), or ok when one is.
status cuda_availability();

/// The CUDA backend on `options.device`: f16 or bf16 activations with f32 accumulation, cuBLASLt matmuls
/// (bias fused), cuDNN convolutions, our fused attention, GroupNorm(+SiLU), LayerNorm, GEGLU and elementwise
/// kernels, all on one stream with one stream-ordered memory pool. Weights `prepare_weight` makes live in
/// their own device memory; activations in the backend's arena (see kernels/arena.hpp).
///
/// unavailable when there is no driver or no such device (a machine without a GPU: callers fall back to the
/// CPU backend and say so); unsupported for a GPU older than sm_80 or an activation dtype other than
/// f16/bf16.
result<std::unique_ptr<backend>> make_cuda_backend(cuda_options options = {});

/// Waits until everything enqueued on a CUDA backend has run (for timing). invalid_argument for a backend
/// that is not a CUDA one; the first asynchronous error of the enqueued work otherwise.
status cuda_synchronize(backend& be);

}  // namespace crowdiff::kernels
