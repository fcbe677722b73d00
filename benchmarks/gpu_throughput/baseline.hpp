#pragma once

// The PyTorch + diffusers baseline, measured by baseline.py in the same run: it is started as a child process
// (after our own measurements, so the two never share the GPU) and answers with one JSON line.

#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "unet_workload.hpp"
#include "workloads.hpp"

namespace crowdiff::bench {

struct baseline_result {
  std::string device, torch, diffusers;
  std::vector<std::optional<double>> attention_tflops;  ///< per shape, the fastest SDPA backend
  std::vector<std::string> attention_backend;           ///< which one that was
  std::vector<std::optional<double>> unet_steps_per_s;  ///< per run
  std::vector<std::optional<double>> unet_images_per_s;
  std::vector<std::string> errors;  ///< what the script could not measure, and why
};

/// Runs `python script` for `shapes` and `runs`. unavailable when the script cannot be started or answers
/// with no JSON line.
result<baseline_result> run_baseline(const std::string& python, const std::string& script,
                                     const std::vector<attention_shape>& shapes,
                                     const std::vector<unet_run>& runs, int steps);

}  // namespace crowdiff::bench
