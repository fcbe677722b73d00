#pragma once

// The CUDA backend's op implementations that are not products: one function per backend `run_*`, each taking
// validated params (kernels/op_params.hpp), turning them into a kernel's args and enqueueing it on the
// stream. Matrix products are in matmul.hpp, convolutions in conv.hpp.

#include "common/status.hpp"
#include "kernels/cuda/detail/cuda_context.hpp"
#include "kernels/op_params.hpp"
#include "kernels/ops.hpp"

namespace crowdiff::kernels::cuda {

/// Fused flash attention for head dims up to 160; above, blocks of query rows through cuBLASLt and softmax.
status attention(const attention_params& p, cuda_context& ctx);

status group_norm(const group_norm_params& p, cuda_context& ctx);
status layer_norm(const layer_norm_params& p, cuda_context& ctx);
status softmax(const softmax_params& p, cuda_context& ctx);
status activation(const activation_params& p, cuda_context& ctx);
status geglu(const geglu_params& p, cuda_context& ctx);
status scale(const scale_params& p, cuda_context& ctx);
status binary(const binary_params& p, cuda_context& ctx);
status upsample(const upsample_params& p, cuda_context& ctx);
status concat(const concat_params& p, cuda_context& ctx);
status permute(const permute_params& p, cuda_context& ctx);
status slice(const slice_params& p, cuda_context& ctx);
/// Validates the ids on the host first (a copy and a synchronization): not allowed during a graph capture.
status embedding(const embedding_params& p, cuda_context& ctx);
status convert(const convert_params& p, cuda_context& ctx);

/// Copies between the host and the device or within the device, converting float dtypes. A copy to the host
/// waits for it to finish.
status copy(const tensor& src, const tensor& dst, cuda_context& ctx);

/// A weight (host or device, any float dtype) as a dense device tensor of the activation dtype in its own
/// device memory, or `w` itself when it already is one.
result<tensor> prepare_weight(const tensor& w, cuda_context& ctx);

}  // namespace crowdiff::kernels::cuda
