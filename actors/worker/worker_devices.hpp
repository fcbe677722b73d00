#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"

namespace crowdiff {

/// A GPU as a worker machine sees it.
struct gpu_description {
  int ordinal = 0;
  std::string description;  ///< "cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)"
  bool supported = false;   ///< the CUDA backend runs on it (sm_80 or later)
};

/// Where a machine's generators run: one per usable GPU, or one on the CPU.
struct device_plan {
  /// A generator on each (pipeline_generator_options::cuda_device); empty: the CPU.
  std::vector<gpu_description> gpus;
  /// Lines for the operator: each GPU skipped, and why the CPU runs when it does.
  std::vector<std::string> notes;
};

/// The plan for `gpus`: every supported one, each unsupported one skipped with a note ("skipping cuda:1 ...:
/// the CUDA backend needs sm_80 or later"). With no supported GPU the CPU runs and exactly one note says why:
/// "no GPU (<no_gpu_reason>): CPU backend" when `gpus` is empty, "no usable GPU (...): CPU backend" when
/// all are too old. `force_cpu`: the CPU whatever the GPUs, with the one note "CPU backend, as asked".
device_plan plan_devices(const std::vector<gpu_description>& gpus, const std::string& no_gpu_reason,
                         bool force_cpu);

/// plan_devices over this machine's GPUs (kernels::cuda_devices(); no_gpu_reason from
/// kernels::cuda_availability()). In a build without the CUDA backend there are none, and the note says so.
/// `force_cpu` asks the driver nothing.
device_plan plan_local_devices(bool force_cpu);

/// The CUDA backend (f16 activations) on one GPU, with what a worker reports about it.
struct gpu_backend {
  std::unique_ptr<kernels::backend> backend;
  std::string description;  ///< as gpu_description::description
  size_t free_memory = 0;   ///< bytes free once the backend holds its context and workspaces
};

/// The CUDA backend on GPU `ordinal`. Errors: make_cuda_backend's, named with the device; unavailable for a
/// build without the CUDA backend.
result<gpu_backend> make_gpu_backend(int ordinal);

}  // namespace crowdiff
