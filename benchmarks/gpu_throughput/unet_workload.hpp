#pragma once

// The UNet part of bench gpu_throughput: one SD 1.5 UNet step (full size, random f16 weights) on the CUDA
// backend, at a latent size and batch, replayed as a CUDA graph.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/unet/unet_model.hpp"
#include "models/weights/model_weights.hpp"

namespace crowdiff::bench {

struct unet_run {
  int size = 512;  ///< image side in pixels (latents are size / 8)
  int batch = 1;   ///< images; the UNet runs 2 * batch rows (classifier-free guidance)
};

struct unet_timing {
  double eager_seconds = 0;             ///< median seconds of one step called op by op (what workers run)
  std::optional<double> graph_seconds;  ///< the same step replayed as one CUDA graph, when it was captured
  std::string note;                     ///< why the step was not captured, when it was not
};

/// SD 1.5's UNet at full size (models::sd1_unet_config, 860M parameters) with random f16 weights made in
/// memory (models::random_weights: PyTorch's initialization of fresh layers, as the diffusers baseline
/// has, seeded) and loaded through the pipeline's own loading path onto a backend.
class unet_workload {
 public:
  /// Makes the weights (1.7 GB on the host, kept: the loader may borrow them) and loads them onto `be`,
  /// which must outlive the workload. Errors: the loader's and the backend's (out of device memory).
  static result<std::unique_ptr<unet_workload>> load(kernels::backend& be);

  /// Median seconds of one step for `run`: 2 * batch rows of random latents of side size / 8, a random
  /// 77-token context, timestep 999, timed op by op (as the pipeline runs it) and as a CUDA graph replay;
  /// when the capture fails only the first is there and `note` says why. Errors: invalid_argument for a batch
  /// under 1 or a size that is not a positive multiple of 8; the UNet's (a latent side it cannot take) and
  /// the backend's.
  result<unet_timing> time_step(const unet_run& run);

  /// Bytes of the weights on the backend.
  size_t weight_bytes() const { return weight_bytes_; }

 private:
  unet_workload(kernels::backend& be, models::model_weights weights)
      : be_(be), weights_(std::move(weights)) {}

  kernels::backend& be_;
  models::model_weights weights_;
  models::unet_model unet_;
  size_t weight_bytes_ = 0;
};

}  // namespace crowdiff::bench
