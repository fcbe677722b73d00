#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/scheduler/features.hpp"
#include "common/status.hpp"
#include "crowdiff/v1/worker.pb.h"

namespace crowdiff {

/// An encoded image and what made it.
struct generated_image {
  std::string bytes;
  std::string format;  ///< "webp" or "png"
  std::string model_sha256;
  uint32_t width = 0;
  uint32_t height = 0;
};

/// Called after every denoising step: (steps done, steps in all).
using step_fn = std::function<void(uint32_t step, uint32_t total)>;

/// What a worker runs jobs through: the diffusion pipeline in production, a test double in tests/.
/// `generate` is called on the worker's generation thread, one image at a time; everything else from the
/// worker actor before it joins.
class generator {
 public:
  virtual ~generator() = default;

  /// The models it can run, with whether each is loaded now.
  virtual std::vector<v1::ModelOffer> models() = 0;
  /// A description of the device, e.g. "cpu: 2 cores, avx512_bf16 amx" or "cuda:0 NVIDIA H100".
  virtual std::string device() = 0;
  /// The largest width * height it accepts.
  virtual uint64_t max_pixels() = 0;
  /// The features it supports (bits of actors/scheduler/features.hpp).
  virtual uint32_t features() = 0;
  /// Measures its speed once, in megapixel-steps per second.
  virtual result<double> benchmark() = 0;

  /// Generates the image `task` describes, calling `on_step` as it goes and stopping promptly
  /// (errc::cancelled) once `cancelled` is set. Errors: invalid_argument / unsupported for requests it cannot
  /// run, generation_failed (with the reason) for faults.
  virtual result<generated_image> generate(const v1::TaskSpec& task, const step_fn& on_step,
                                           const std::atomic<bool>& cancelled) = 0;
};

}  // namespace crowdiff
