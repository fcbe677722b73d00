#pragma once

// Every CUDA, cuBLASLt and cuDNN call of the backend goes through these macros: a failure becomes a
// crowdiff::status naming the library's error, the call, and the file and line, and is returned from the
// enclosing function (which returns status or result<T>).

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "common/status.hpp"

namespace crowdiff::kernels::cuda {

/// The status for a failed CUDA runtime call: resource_exhausted when out of memory, unavailable when there
/// is no usable device or driver, internal otherwise.
status cuda_error(cudaError_t e, const char* call, const char* file, int line);
status cublas_error(cublasStatus_t e, const char* call, const char* file, int line);
/// unsupported for the NOT_SUPPORTED and BAD_PARAM families (a configuration cuDNN has no kernel for, or
/// rejects), resource_exhausted for allocation failures, internal otherwise.
status cudnn_error(cudnnStatus_t e, const char* call, const char* file, int line);

}  // namespace crowdiff::kernels::cuda

#define CROWDIFF_CUDA_CHECK(call)                                                           \
  do {                                                                                      \
    if (const cudaError_t crowdiff_e_ = (call); crowdiff_e_ != cudaSuccess)                 \
      return ::crowdiff::kernels::cuda::cuda_error(crowdiff_e_, #call, __FILE__, __LINE__); \
  } while (false)

#define CROWDIFF_CUBLAS_CHECK(call)                                                           \
  do {                                                                                        \
    if (const cublasStatus_t crowdiff_e_ = (call); crowdiff_e_ != CUBLAS_STATUS_SUCCESS)      \
      return ::crowdiff::kernels::cuda::cublas_error(crowdiff_e_, #call, __FILE__, __LINE__); \
  } while (false)

#define CROWDIFF_CUDNN_CHECK(call)                                                           \
  do {                                                                                       \
    if (const cudnnStatus_t crowdiff_e_ = (call); crowdiff_e_ != CUDNN_STATUS_SUCCESS)       \
      return ::crowdiff::kernels::cuda::cudnn_error(crowdiff_e_, #call, __FILE__, __LINE__); \
  } while (false)
