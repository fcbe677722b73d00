#include "actors/worker/worker_devices.hpp"

#ifdef CROWDIFF_HAVE_CUDA
#include "kernels/cuda/cuda_backend.hpp"
#endif

namespace crowdiff {

device_plan plan_devices(const std::vector<gpu_description>& gpus, const std::string& no_gpu_reason,
                         bool force_cpu) {
  device_plan plan;
  if (force_cpu) {
    plan.notes.push_back("CPU backend, as asked");
    return plan;
  }
  std::vector<std::string> skipped;
  for (const gpu_description& gpu : gpus) {
    if (gpu.supported)
      plan.gpus.push_back(gpu);
    else
      skipped.push_back(gpu.description);
  }
  if (plan.gpus.empty()) {
    // One line: the CPU runs, and why.
    if (gpus.empty()) {
      plan.notes.push_back("no GPU (" + no_gpu_reason + "): CPU backend");
    } else {
      std::string list;
      for (const std::string& gpu : skipped)
        list += (list.empty() ? "" : ", ") + gpu;
      plan.notes.push_back("no usable GPU (" + list +
                           ": the CUDA backend needs sm_80 or later): CPU backend");
    }
    return plan;
  }
  for (const std::string& gpu : skipped)
    plan.notes.push_back("skipping " + gpu + ": the CUDA backend needs sm_80 or later");
  return plan;
}

device_plan plan_local_devices(bool force_cpu) {
  if (force_cpu)
    return plan_devices({}, {}, true);
  std::vector<gpu_description> gpus;
  std::string reason;
#ifdef CROWDIFF_HAVE_CUDA
  if (auto devices = kernels::cuda_devices(); devices) {
    for (const kernels::cuda_device_info& info : *devices)
      gpus.push_back({info.ordinal, info.to_string(), info.supported()});
  } else {
    reason = devices.error().message();
  }
  if (gpus.empty() && reason.empty()) {
    const status available = kernels::cuda_availability();
    reason = available ? "no CUDA device" : available.message();
  }
#else
  reason = "this build has no CUDA backend";
#endif
  return plan_devices(gpus, reason, false);
}

result<gpu_backend> make_gpu_backend(int ordinal) {
#ifdef CROWDIFF_HAVE_CUDA
  auto be = kernels::make_cuda_backend({ordinal, kernels::dtype::f16});
  if (!be)
    return status(be.error()).with_context("cuda:" + std::to_string(ordinal));
  auto devices = kernels::cuda_devices();
  if (!devices)
    return devices.error();
  for (const kernels::cuda_device_info& info : *devices) {
    if (info.ordinal == ordinal)
      return gpu_backend{std::move(*be), info.to_string(), info.free_memory};
  }
  return status{errc::unavailable, "cuda:" + std::to_string(ordinal) + " is not listed among the devices"};
#else
  return status{errc::unavailable, "cuda:" + std::to_string(ordinal) +
                                       " asked for, but this build has no CUDA backend (CROWDIFF_CUDA off)"};
#endif
}

}  // namespace crowdiff
