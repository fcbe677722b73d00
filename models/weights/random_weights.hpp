#pragma once

#include <cstdint>
#include <span>

#include "common/status.hpp"
#include "kernels/dtype.hpp"
#include "models/weights/model_config.hpp"
#include "models/weights/model_weights.hpp"
#include "models/weights/tensor_view.hpp"

namespace crowdiff::models {

struct random_weights_options {
  uint64_t seed = 0;
  kernels::dtype stored = kernels::dtype::f16;  ///< f32, f16 or bf16, as checkpoints store weights.
  unsigned threads = 0;                         ///< 0: every hardware thread. The values do not depend on it.
};

/// A model of random weights held in memory, for benchmarks and tests that need an architecture at full size
/// rather than its trained values (speed and memory do not depend on them). Every tensor of `specs` is
/// filled as PyTorch initializes a fresh layer, which is what diffusers' models made from a config hold:
/// a matrix or filter (rank 2 or more) uniform in +-1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)), its
/// `bias` likewise with the same fan-in, a norm's `weight` (rank 1 beside no matrix) 1 and its `bias` 0.
/// Activations then stay of order one through a whole UNet, well inside f16's range.
///
/// The values are a function of the seed, the tensor's position in `specs` and the element's index (a
/// counter-based generator), whatever the thread count. The result is a `model_weights::from_memory` over
/// one safetensors image with `config` as its configuration: load blocks from it as from a checkpoint.
/// Errors: invalid_argument for an unsupported dtype, a duplicate or empty name, or a non-positive extent.
result<model_weights> random_weights(std::span<const tensor_spec> specs, const model_config& config,
                                     const random_weights_options& options = {});

}  // namespace crowdiff::models
