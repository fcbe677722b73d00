// Launchers of the data movement kernels (layout_kernels.cuh).

#include "kernels/cuda/detail/launchers.hpp"
#include "kernels/cuda/detail/layout_kernels.cuh"

namespace crowdiff::kernels::cuda {

namespace {

template <class Kernel, class... Args>
cudaError_t launch(Kernel kernel, const launch_dims& d, cudaStream_t stream, const Args&... args) {
  kernel<<<dim3(d.grid_x, d.grid_y, d.grid_z), d.threads, d.shared_bytes, stream>>>(args...);
  return cudaGetLastError();
}

/// Calls `f.template operator()<E>()` with E the unsigned integer of `bytes` bytes (2, 4 or 8).
template <class F>
cudaError_t switch_element_bytes(int bytes, F&& f) {
  switch (bytes) {
    case 2:
      return f.template operator()<element_bits<2>::type>();
    case 4:
      return f.template operator()<element_bits<4>::type>();
    case 8:
      return f.template operator()<element_bits<8>::type>();
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace

cudaError_t launch_transpose(const void* x, void* out, int element_bytes, int64_t batch, int64_t rows,
                             int64_t cols, cudaStream_t stream) {
  return switch_element_bytes(element_bytes, [&]<class E>() {
    return launch(transpose_kernel<E>, transpose_dims(batch, rows, cols), stream, static_cast<const E*>(x),
                  static_cast<E*>(out), rows, cols);
  });
}

cudaError_t launch_permute(const permute_args& a, cudaStream_t stream) {
  return switch_element_bytes(a.element_bytes, [&]<class E>() {
    return launch(permute_kernel<E>, pointwise_dims(a.count), stream, a);
  });
}

cudaError_t launch_upsample(const upsample_args& a, cudaStream_t stream) {
  return launch(upsample_kernel, pointwise_dims(a.planes * a.h * a.w * a.factor * a.factor), stream, a);
}

cudaError_t launch_pad(const pad_args& a, cudaStream_t stream) {
  return launch(pad_kernel, pointwise_dims(a.planes * (a.h + a.top + a.bottom) * (a.w + a.left + a.right)),
                stream, a);
}

cudaError_t launch_embedding(const embedding_args& a, cudaStream_t stream) {
  return launch(embedding_kernel, pointwise_dims(a.count * a.dim), stream, a);
}

cudaError_t launch_convert(const convert_args& a, cudaStream_t stream) {
  return launch(convert_kernel, pointwise_dims(a.count), stream, a);
}

}  // namespace crowdiff::kernels::cuda
