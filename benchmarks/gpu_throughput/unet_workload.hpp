#pragma once

// The UNet part of bench gpu_throughput: one SD 1.5 UNet step (full size, random f16 weights) on the CUDA
// backend, at a latent size and batch, replayed as a CUDA graph. unet_workload.cpp implements it over
// models/unet (unet_model with random full-size weights); until that file exists the build links
// unet_unavailable.cpp, which reports the rows as not measured instead of a number.

#include <string>

#include "common/status.hpp"
#include "kernels/backend.hpp"

namespace crowdiff::bench {

struct unet_run {
  int size = 512;  ///< image side in pixels (latents are size / 8)
  int batch = 1;   ///< images; the UNet runs 2 * batch rows (classifier-free guidance)
};

/// Why the UNet workload cannot run in this build, or empty when it can.
std::string unet_unavailable_reason();

/// Median seconds of one UNet step (a CUDA graph replay) for `run` on `be`.
result<double> time_unet_step(kernels::backend& be, const unet_run& run);

}  // namespace crowdiff::bench
