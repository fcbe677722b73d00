// The CUDA backend's factory, device queries, transfers, weights and memory reuse. The first case runs on
// every machine: without a GPU it checks that the factory says so.

#include <boost/test/unit_test.hpp>

#include "cuda_test_util.hpp"
#include "gpu_fixture.hpp"
#include "kernels/cuda/cuda_backend.hpp"

namespace crowdiff::kernels::cuda::test {

BOOST_AUTO_TEST_SUITE(cuda_factory)

BOOST_AUTO_TEST_CASE(unavailable_without_a_gpu_unsupported_for_other_dtypes) {
  auto f32 = make_cuda_backend({0, dtype::f32});
  BOOST_TEST_REQUIRE(!f32.has_value());
  BOOST_TEST((f32.error().code() == errc::unsupported));
  if (cuda_device_count() == 0) {
    auto made = make_cuda_backend({});
    BOOST_TEST_REQUIRE(!made.has_value());
    BOOST_TEST((made.error().code() == errc::unavailable));
    BOOST_TEST(!made.error().message().empty());
    BOOST_TEST((cuda_availability().code() == errc::unavailable));
    BOOST_TEST_MESSAGE("no GPU: make_cuda_backend says " << made.error().to_string());
  } else {
    BOOST_TEST((make_cuda_backend({cuda_device_count(), dtype::f16}).error().code() == errc::unavailable));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_backend_basics, *boost::unit_test::precondition(gpu_available))

BOOST_AUTO_TEST_CASE(devices_are_listed) {
  const auto devices = unwrap(cuda_devices(), "cuda_devices");
  BOOST_TEST_REQUIRE(!devices.empty());
  BOOST_TEST(devices.front().supported());
  BOOST_TEST(devices.front().total_memory > 0u);
  BOOST_TEST_MESSAGE(devices.front().to_string());
  BOOST_TEST(gpu(dtype::f16)->name() == "cuda");
  BOOST_TEST((gpu(dtype::f16)->device() == device::cuda(0)));
}

BOOST_AUTO_TEST_CASE(upload_download_round_trips) {
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    const tensor x = random_f32({3, 5, 7}, 1, -100.0f, 100.0f);
    const tensor on_gpu = to_device(be, x);
    BOOST_TEST((on_gpu.dtype() == t));
    check_exact(converted(to_host(be, on_gpu), t), converted(x, t), "upload rounds once");
    tensor ids = unwrap(tensor::host({4}, dtype::i64), "ids");
    for (int i = 0; i < 4; ++i)
      ids.mutable_data_as<int64_t>()[i] = 1000000007LL * i;
    tensor back = unwrap(tensor::host({4}, dtype::i64), "back");
    BOOST_TEST_REQUIRE(be.download(to_device(be, ids), back).is_ok());
    check_exact(back, ids, "ids keep their dtype");
  }
}

BOOST_AUTO_TEST_CASE(weights_are_prepared_once) {
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    const tensor w = random_f32({33, 17}, 2);
    const tensor ready = unwrap(be.prepare_weight(w, weight_use::linear), "prepare");
    BOOST_TEST((ready.device() == device::cuda(0)));
    BOOST_TEST((ready.dtype() == t));
    check_exact(converted(to_host(be, ready), t), converted(w, t), "prepared weight");
    const tensor again = unwrap(be.prepare_weight(ready, weight_use::linear), "prepare again");
    BOOST_TEST(again.data() == ready.data());  // already in shape: used as it is
  }
}

BOOST_AUTO_TEST_CASE(ops_reject_host_tensors_and_a_repeated_step_allocates_nothing) {
  backend& be = *gpu(dtype::f16);
  const tensor host = random_f32({4, 8}, 3);
  BOOST_TEST((be.silu(host).error().code() == errc::invalid_argument));
  const tensor x = to_device(be, host);
  BOOST_TEST((be.add(x, host).error().code() == errc::invalid_argument));
  { const tensor y = unwrap(be.silu(x), "silu"); }
  const uint64_t before = be.memory().stats().upstream_allocations;
  for (int i = 0; i < 3; ++i)
    const tensor y = unwrap(be.silu(x), "silu");
  BOOST_TEST(be.memory().stats().upstream_allocations == before);
  BOOST_TEST(cuda_synchronize(be).is_ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::cuda::test
