#pragma once

// Host entry points of the hand-written kernels (defined in the .cu files, one per family). Each enqueues its
// kernel(s) on `stream` and returns the launch error, if any. `bf16` picks the 16-bit element type.

#include <cuda_runtime_api.h>

#include "kernels/cuda/detail/attention/flash_params.hpp"
#include "kernels/cuda/detail/kernel_args.hpp"

namespace crowdiff::kernels::cuda {

/// Fused attention; p.d and p.dv at most flash_max_head_dim.
cudaError_t launch_flash_attention(const flash_params& p, bool bf16, cudaStream_t stream);

cudaError_t launch_group_norm(const group_norm_args& a, bool bf16, cudaStream_t stream);
cudaError_t launch_layer_norm(const layer_norm_args& a, bool bf16, cudaStream_t stream);
cudaError_t launch_softmax(const softmax_args& a, cudaStream_t stream);

cudaError_t launch_pointwise(const pointwise_args& a, bool bf16, cudaStream_t stream);
cudaError_t launch_geglu(const geglu_args& a, bool bf16, cudaStream_t stream);
/// `vector`: the innermost extent is a multiple of 8, b's innermost stride is 0 or 1, pointers 16-byte
/// aligned.
cudaError_t launch_binary(const binary_args& a, bool bf16, bool vector, cudaStream_t stream);
cudaError_t launch_bias(const bias_args& a, bool bf16, cudaStream_t stream);

/// x [batch, rows, cols] -> out [batch, cols, rows] for elements of `element_bytes` (2, 4, 8) bytes.
cudaError_t launch_transpose(const void* x, void* out, int element_bytes, int64_t batch, int64_t rows,
                             int64_t cols, cudaStream_t stream);
cudaError_t launch_permute(const permute_args& a, cudaStream_t stream);
cudaError_t launch_upsample(const upsample_args& a, cudaStream_t stream);
cudaError_t launch_pad(const pad_args& a, cudaStream_t stream);
cudaError_t launch_embedding(const embedding_args& a, cudaStream_t stream);
cudaError_t launch_convert(const convert_args& a, cudaStream_t stream);

}  // namespace crowdiff::kernels::cuda
