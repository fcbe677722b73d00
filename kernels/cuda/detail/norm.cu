// Launchers of the normalization kernels (norm_kernels.cuh).

#include "kernels/cuda/detail/attention/flash_switch.hpp"
#include "kernels/cuda/detail/launchers.hpp"
#include "kernels/cuda/detail/norm_kernels.cuh"

namespace crowdiff::kernels::cuda {

namespace {

template <class Kernel, class Args>
cudaError_t launch(Kernel kernel, const launch_dims& d, const Args& a, cudaStream_t stream) {
  kernel<<<dim3(d.grid_x, d.grid_y, d.grid_z), d.threads, d.shared_bytes, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_group_norm(const group_norm_args& a, bool bf16, cudaStream_t stream) {
  return switch_half_type(bf16, [&]<class T>() {
    const launch_dims d = group_norm_dims(a);
    const cudaError_t e = a.vector ? launch(group_norm_stats_kernel<T, 8>, d, a, stream)
                                   : launch(group_norm_stats_kernel<T, 1>, d, a, stream);
    if (e != cudaSuccess)
      return e;
    return a.vector ? launch(group_norm_apply_kernel<T, 8>, d, a, stream)
                    : launch(group_norm_apply_kernel<T, 1>, d, a, stream);
  });
}

cudaError_t launch_layer_norm(const layer_norm_args& a, bool bf16, cudaStream_t stream) {
  return switch_half_type(bf16, [&]<class T>() {
    const launch_dims d = row_dims(a.rows);
    return a.vector ? launch(layer_norm_kernel<T, 8>, d, a, stream)
                    : launch(layer_norm_kernel<T, 1>, d, a, stream);
  });
}

cudaError_t launch_softmax(const softmax_args& a, cudaStream_t stream) {
  return launch(softmax_kernel, row_dims(a.rows), a, stream);
}

}  // namespace crowdiff::kernels::cuda
