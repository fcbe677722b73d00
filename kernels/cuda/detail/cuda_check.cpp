#include "kernels/cuda/detail/cuda_check.hpp"

#include <cstring>
#include <string>

namespace crowdiff::kernels::cuda {

namespace {

// "kernels/cuda/detail/conv.cpp" rather than the build machine's absolute path.
const char* project_path(const char* file) {
  const char* p = std::strstr(file, "kernels/cuda/");
  return p != nullptr ? p : file;
}

std::string where(const char* call, const char* file, int line) {
  return std::string(" in ") + call + " at " + project_path(file) + ":" + std::to_string(line);
}

}  // namespace

status cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  errc code = errc::internal;
  if (e == cudaErrorMemoryAllocation)
    code = errc::resource_exhausted;
  else if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorInvalidDevice ||
           e == cudaErrorDevicesUnavailable || e == cudaErrorSystemDriverMismatch ||
           e == cudaErrorCompatNotSupportedOnDevice || e == cudaErrorNoKernelImageForDevice)
    code = errc::unavailable;
  return {code, std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")" +
                    where(call, file, line)};
}

status cublas_error(cublasStatus_t e, const char* call, const char* file, int line) {
  const errc code = e == CUBLAS_STATUS_ALLOC_FAILED    ? errc::resource_exhausted
                    : e == CUBLAS_STATUS_NOT_SUPPORTED ? errc::unsupported
                                                       : errc::internal;
  return {code, std::string("cuBLASLt error ") + cublasLtGetStatusName(e) + " (" +
                    cublasLtGetStatusString(e) + ")" + where(call, file, line)};
}

status cudnn_error(cudnnStatus_t e, const char* call, const char* file, int line) {
  errc code = errc::internal;
  if (CUDNN_STATUS_CATEGORY(e) == CUDNN_STATUS_NOT_SUPPORTED ||
      CUDNN_STATUS_CATEGORY(e) == CUDNN_STATUS_BAD_PARAM)
    code = errc::unsupported;  // a configuration this cuDNN has no kernel for (or rejects)
  else if (e == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
           e == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    code = errc::resource_exhausted;
  return {code, std::string("cuDNN error ") + cudnnGetErrorString(e) + where(call, file, line)};
}

}  // namespace crowdiff::kernels::cuda
