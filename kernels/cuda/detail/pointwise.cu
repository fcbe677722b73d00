// Launchers of the elementwise kernels (pointwise_kernels.cuh).

#include "kernels/cuda/detail/attention/flash_switch.hpp"
#include "kernels/cuda/detail/launchers.hpp"
#include "kernels/cuda/detail/pointwise_kernels.cuh"

namespace crowdiff::kernels::cuda {

namespace {

template <class Kernel, class Args>
cudaError_t launch(Kernel kernel, const launch_dims& d, const Args& a, cudaStream_t stream) {
  kernel<<<dim3(d.grid_x, d.grid_y, d.grid_z), d.threads, d.shared_bytes, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_pointwise(const pointwise_args& a, bool bf16, cudaStream_t stream) {
  return switch_half_type(bf16, [&]<class T>() {
    return launch(pointwise_kernel<T>, pointwise_dims(a.vector ? a.count / 8 : a.count), a, stream);
  });
}

cudaError_t launch_geglu(const geglu_args& a, bool bf16, cudaStream_t stream) {
  return switch_half_type(
      bf16, [&]<class T>() { return launch(geglu_kernel<T>, pointwise_dims(a.rows * a.half), a, stream); });
}

cudaError_t launch_binary(const binary_args& a, bool bf16, bool vector, cudaStream_t stream) {
  return switch_half_type(bf16, [&]<class T>() {
    return vector ? launch(binary_kernel<T, 8>, pointwise_dims(a.count / 8), a, stream)
                  : launch(binary_kernel<T, 1>, pointwise_dims(a.count), a, stream);
  });
}

cudaError_t launch_bias(const bias_args& a, bool bf16, cudaStream_t stream) {
  return switch_half_type(bf16, [&]<class T>() {
    return launch(bias_kernel<T>, pointwise_dims(a.outer * a.channels * a.inner), a, stream);
  });
}

}  // namespace crowdiff::kernels::cuda
