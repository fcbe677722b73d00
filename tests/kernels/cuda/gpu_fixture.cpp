#include "gpu_fixture.hpp"

#include <iostream>
#include <memory>

#include "cuda_test_util.hpp"
#include "kernels/cuda/cuda_backend.hpp"

namespace crowdiff::kernels::cuda::test {

namespace {

struct gpus {
  std::unique_ptr<backend> f16, bf16;
  std::string reason;
  std::string device;

  gpus() {
    auto made = make_cuda_backend({0, dtype::f16});
    if (!made) {
      reason = made.error().to_string();
      return;
    }
    f16 = std::move(*made);
    auto other = make_cuda_backend({0, dtype::bf16});
    if (other)
      bf16 = std::move(*other);
    else
      reason = other.error().to_string();
    if (auto devices = cuda_devices(); devices && !devices->empty())
      device = devices->front().to_string();
  }
};

gpus& state() {
  static gpus g;
  return g;
}

// Says once, on stderr whatever the log level, whether the GPU tests run.
struct gpu_notice {
  gpu_notice() {
    if (state().f16)
      std::cerr << "CUDA tests run on " << state().device << "\n";
    else
      std::cerr << "SKIPPED: every CUDA backend test (no GPU here: " << state().reason << ")\n";
  }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(gpu_notice);

backend* gpu(dtype t) {
  return t == dtype::bf16 ? state().bf16.get() : state().f16.get();
}

const std::string& gpu_skip_reason() {
  return state().reason;
}

boost::test_tools::assertion_result gpu_available(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result r(state().f16 != nullptr && state().bf16 != nullptr);
  if (!r)
    r.message() << "skipped, no GPU: " << state().reason;
  return r;
}

tensor to_device(backend& be, const tensor& host) {
  return unwrap(be.upload(host), "upload");
}

tensor to_host(backend& be, const tensor& device_tensor) {
  tensor out = unwrap(tensor::host(device_tensor.shape(), dtype::f32), "host tensor");
  const status s = be.download(device_tensor, out);
  BOOST_TEST_REQUIRE(s.is_ok(), "download: " << s.to_string());
  return out;
}

}  // namespace crowdiff::kernels::cuda::test
