#include <cstdio>
#include <dlfcn.h>
#include <string>

#include <cuda_runtime_api.h>

#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/detail/cuda_check.hpp"

namespace crowdiff::kernels {

std::string cuda_device_info::to_string() const {
  char memory[32];
  std::snprintf(memory, sizeof memory, "%.1f GiB",
                static_cast<double>(total_memory) / (1024.0 * 1024.0 * 1024.0));
  return "cuda:" + std::to_string(ordinal) + " " + name + " (sm_" + std::to_string(major) +
         std::to_string(minor) + ", " + std::to_string(multiprocessors) + " SMs, " + memory + ")";
}

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

result<std::vector<cuda_device_info>> cuda_devices() {
  std::vector<cuda_device_info> out;
  const int count = cuda_device_count();
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp props{};
    CROWDIFF_CUDA_CHECK(cudaGetDeviceProperties(&props, i));
    cuda_device_info info;
    info.ordinal = i;
    info.name = props.name;
    info.major = props.major;
    info.minor = props.minor;
    info.multiprocessors = props.multiProcessorCount;
    info.total_memory = props.totalGlobalMem;
    CROWDIFF_CUDA_CHECK(cudaSetDevice(i));
    size_t free_bytes = 0, total_bytes = 0;
    CROWDIFF_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    info.free_memory = free_bytes;
    out.push_back(std::move(info));
  }
  return out;
}

status cuda_availability() {
  int count = 0;
  if (const cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    cudaGetLastError();
    // The runtime reports a missing driver as an insufficient one: tell the two apart.
    if (void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL); driver == nullptr)
      return {errc::unavailable, "no NVIDIA driver (libcuda.so.1 not found)"};
    else
      dlclose(driver);
    return {errc::unavailable,
            std::string("no usable CUDA driver or device (") + cudaGetErrorString(e) + ")"};
  }
  if (count == 0)
    return {errc::unavailable, "no CUDA device"};
  for (int i = 0; i < count; ++i) {
    int major = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, i) == cudaSuccess && major >= 8)
      return status::ok();
  }
  return {errc::unavailable, "no CUDA device of compute capability 8.0 or later"};
}

}  // namespace crowdiff::kernels
