#pragma once

// The CPU implementations of the backend ops, one family per file: matmul.cpp (linear, batched matmul),
// conv.cpp, norm.cpp, attention.cpp, pointwise.cpp (activations, geglu, softmax, scale, add/mul),
// layout.cpp (concat, permute, slice, upsample, embedding). Each takes validated params.

#include "common/status.hpp"
#include "kernels/cpu/detail/cpu_env.hpp"
#include "kernels/op_params.hpp"
#include "kernels/ops.hpp"

namespace crowdiff::kernels::cpu::detail {

status linear(const linear_params& p, cpu_env& env);
status matmul(const matmul_params& p, cpu_env& env);
/// A linear weight [N, K] in `env.compute`: `w` itself when it already is (no copy), else a converted copy.
result<tensor> prepare_linear_weight(const tensor& w, cpu_env& env);

status conv2d(const conv2d_params& p, cpu_env& env);
/// A conv weight [O, C, kh, kw] converted to `env.compute` and packed for oneDNN's convolution.
result<tensor> pack_conv_weight(const tensor& w, cpu_env& env);

status group_norm(const group_norm_params& p, cpu_env& env);
status layer_norm(const layer_norm_params& p, cpu_env& env);

status attention(const attention_params& p, cpu_env& env);

status activation(const activation_params& p);
status geglu(const geglu_params& p);
status softmax(const softmax_params& p);
status scale(const scale_params& p);
status binary(const binary_params& p);

status concat(const concat_params& p);
status permute(const permute_params& p);
status slice(const slice_params& p);
status upsample(const upsample_params& p);
status embedding(const embedding_params& p, cpu_env& env);

}  // namespace crowdiff::kernels::cpu::detail
