// Linked while this folder has no unet_workload.cpp (see CMakeLists.txt): the benchmark reports the UNet rows
// as not measured rather than inventing them.

#include "unet_workload.hpp"

namespace crowdiff::bench {

std::string unet_unavailable_reason() {
  return "no UNet workload in this build yet (benchmarks/gpu_throughput/unet_workload.cpp over models/unet)";
}

result<double> time_unet_step(kernels::backend&, const unet_run&) {
  return status{errc::unsupported, unet_unavailable_reason()};
}

}  // namespace crowdiff::bench
