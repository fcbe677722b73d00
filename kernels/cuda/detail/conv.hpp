#pragma once

// 2-D convolutions through cuDNN (NCHW, f32 accumulation, tensor-core math), the bias fused where cuDNN's
// fused convolution-bias kernel serves the shape.

#include <array>
#include <cstdint>
#include <map>

#include "common/status.hpp"
#include "kernels/cuda/detail/cuda_context.hpp"
#include "kernels/op_params.hpp"

namespace crowdiff::kernels::cuda {

/// cuDNN descriptors and the chosen algorithm per convolution shape, made at the first call of a shape (so
/// that later calls, and graph captures, only enqueue).
class conv_plans {
 public:
  conv_plans() = default;
  conv_plans(const conv_plans&) = delete;
  conv_plans& operator=(const conv_plans&) = delete;
  ~conv_plans();

  /// Enqueues the convolution of `p` (symmetric padding `pad_h`, `pad_w`) reading x from `x`.
  status run(const conv2d_params& p, const void* x, int64_t h, int64_t w, int64_t pad_h, int64_t pad_w,
             cuda_context& ctx);

 private:
  struct plan;
  using key = std::array<int64_t, 12>;
  std::map<key, plan*> plans_;
};

status conv2d(const conv2d_params& p, cuda_context& ctx);

}  // namespace crowdiff::kernels::cuda
