#pragma once

// The named workloads of bench gpu_throughput: attention shapes of SD 1.5, 2.x and XL, timed on our fused
// kernel; the UNet step, timed when this build has a UNet model (unet_workload.hpp).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"

namespace crowdiff::bench {

struct attention_shape {
  std::string name;  ///< "sd15 64x64 self"
  int64_t batch, heads, lq, lk, head_dim;
  double flops() const {
    return 4.0 * static_cast<double>(batch * heads) * static_cast<double>(lq * lk) * head_dim;
  }
};

/// SD 1.5 at 512x512 with CFG (batch 2): every attention the UNet runs, self and cross (77 keys), at each
/// resolution; SD 2.x/XL's 64-wide heads; a 128-wide head.
std::vector<attention_shape> attention_shapes();

/// Median seconds per call of our attention on `shape` (f16, random inputs), or the error.
result<double> time_attention(kernels::backend& be, const attention_shape& shape);

/// Median seconds of `repeats` rounds of `calls` calls of `fn`, each round synchronized at its end.
result<double> median_seconds(kernels::backend& be, int calls, int repeats,
                              const std::function<status()>& fn);

}  // namespace crowdiff::bench
