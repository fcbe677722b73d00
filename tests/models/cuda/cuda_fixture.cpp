#include "cuda_fixture.hpp"

#include <iostream>
#include <memory>
#include <string>

#include "kernels/cuda/cuda_backend.hpp"

namespace crowdiff::models::testing {

namespace {

struct gpu {
  std::unique_ptr<kernels::backend> f16;
  std::string reason;
  std::string device;

  gpu() {
    auto made = kernels::make_cuda_backend({0, kernels::dtype::f16});
    if (!made) {
      reason = made.error().to_string();
      return;
    }
    f16 = std::move(*made);
    if (auto devices = kernels::cuda_devices(); devices && !devices->empty())
      device = devices->front().to_string();
  }
};

gpu& state() {
  static gpu g;
  return g;
}

// Says once, on stderr whatever the log level, whether the GPU tests run.
struct gpu_notice {
  gpu_notice() {
    if (state().f16)
      std::cerr << "CUDA model tests run on " << state().device << "\n";
    else
      std::cerr << "SKIPPED: every CUDA model test (no GPU here: " << state().reason << ")\n";
  }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(gpu_notice);

kernels::backend* cuda_f16() {
  return state().f16.get();
}

boost::test_tools::assertion_result gpu_available(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result r(state().f16 != nullptr);
  if (!r)
    r.message() << "skipped, no GPU: " << state().reason;
  return r;
}

}  // namespace crowdiff::models::testing
