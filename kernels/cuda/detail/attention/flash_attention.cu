// The fused attention's launcher and its instantiations: {f16, bf16} x head-dim buckets {48, 64, 80, 128,
// 160}.

#include "kernels/cuda/detail/attention/flash_kernel.cuh"
#include "kernels/cuda/detail/attention/flash_switch.hpp"
#include "kernels/cuda/detail/launchers.hpp"

namespace crowdiff::kernels::cuda {

cudaError_t launch_flash_attention(const flash_params& p, bool bf16, cudaStream_t stream) {
  const int widest = p.d > p.dv ? p.d : p.dv;
  return switch_half_type(bf16, [&]<class T>() {
    return switch_head_dim(widest, [&]<int Dp>() {
      const auto kernel = flash_forward_kernel<T, Dp>;
      const launch_dims dims = flash_dims<Dp>(p);
      // Over 48 KiB of shared memory must be asked for, per device, before the launch; cheap to repeat.
      if (const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                     static_cast<int>(dims.shared_bytes));
          e != cudaSuccess)
        return e;
      kernel<<<dim3(dims.grid_x, dims.grid_y, dims.grid_z), dims.threads, dims.shared_bytes, stream>>>(p);
      return cudaGetLastError();
    });
  });
}

}  // namespace crowdiff::kernels::cuda
