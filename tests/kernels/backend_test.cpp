// The checks every backend shares: devices, dtypes, capabilities, upload and download.

#include <boost/test/unit_test.hpp>

#include "kernels/half.hpp"
#include "test_util.hpp"

namespace crowdiff::kernels::test {

BOOST_AUTO_TEST_SUITE(backend_interface)

BOOST_AUTO_TEST_CASE(describes_itself) {
  BOOST_TEST(cpu_f32().name() == "cpu");
  BOOST_TEST((cpu_f32().activation_dtype() == dtype::f32));
  BOOST_TEST((cpu_f32().compute_dtype() == dtype::f32));
  BOOST_TEST((reference().compute_dtype() == dtype::f32));
  for (op_kind op : all_op_kinds) {
    BOOST_TEST(cpu_f32().supports(op, dtype::f32), to_string(op));
    BOOST_TEST(reference().supports(op, dtype::f32), to_string(op));
  }
  BOOST_TEST(!cpu_f32().supports(op_kind::linear, dtype::f16));
  if (backend* bf16 = cpu_bf16())
    BOOST_TEST((bf16->compute_dtype() == dtype::bf16));
  const cpu_features f = detect_cpu_features();
  BOOST_TEST_MESSAGE("cpu: avx512 " << f.avx512 << ", avx512_bf16 " << f.avx512_bf16 << ", amx "
                                    << f.amx_bf16);
}

BOOST_AUTO_TEST_CASE(rejects_other_devices_and_dtypes) {
  float data[8] = {};
  const tensor on_gpu = tensor::borrow(data, {2, 4}, dtype::f32, device::cuda(0));
  const tensor w = random_tensor({3, 4}, 1);
  BOOST_TEST(cpu_f32().linear(on_gpu, w).error().code() == errc::invalid_argument);
  BOOST_TEST(cpu_f32()
                 .linear(random_tensor({2, 4}, 2), tensor::borrow(data, {2, 4}, dtype::f32, device::cuda(0)))
                 .error()
                 .code() == errc::invalid_argument);
  // f16 activations are not a CPU dtype: unsupported, not a crash.
  BOOST_TEST(cpu_f32().silu(random_tensor({4}, 3, -1.0f, 1.0f, dtype::f16)).error().code() ==
             errc::unsupported);
  BOOST_TEST(cpu_f32().linear(tensor(), w).error().code() == errc::invalid_argument);
  // A linear weight that is not float.
  auto ids = unwrap(tensor::host({3, 4}, dtype::i32), "ids");
  BOOST_TEST(cpu_f32().linear(random_tensor({2, 4}, 4), ids).error().code() == errc::invalid_argument);
  BOOST_TEST(cpu_f32().prepare_weight(ids, weight_use::linear).error().code() == errc::invalid_argument);
  BOOST_TEST(cpu_f32().prepare_weight(w, weight_use::conv2d).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(upload_and_download_convert) {
  const tensor host = random_tensor({5, 7}, 5, -2.0f, 2.0f, dtype::f16);
  const tensor on_backend = unwrap(cpu_f32().upload(host), "upload");
  BOOST_TEST((on_backend.dtype() == dtype::f32));
  const tensor back = unwrap(tensor::host({5, 7}, dtype::bf16), "host");
  BOOST_TEST(cpu_f32().download(on_backend, back).is_ok());
  const std::vector<float> a = to_vector(host), b = to_vector(back);
  for (size_t i = 0; i < a.size(); ++i)
    BOOST_TEST_REQUIRE(b[i] == bf16_to_f32(f32_to_bf16(a[i])));
  BOOST_TEST(cpu_f32().download(on_backend, unwrap(tensor::host({7, 5}, dtype::f32), "h")).code() ==
             errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(prepared_weights_keep_their_meaning) {
  const tensor w16 = random_tensor({6, 5}, 6, -1.0f, 1.0f, dtype::f16);
  const tensor bias = random_tensor({6}, 7, -1.0f, 1.0f, dtype::bf16);
  const tensor prepared_bias = unwrap(cpu_f32().prepare_weight(bias, weight_use::other), "bias");
  BOOST_TEST((prepared_bias.dtype() == dtype::f32));
  const tensor f32_bias = random_tensor({6}, 8);
  BOOST_TEST(unwrap(cpu_f32().prepare_weight(f32_bias, weight_use::other), "f32").data() == f32_bias.data(),
             "an f32 parameter is borrowed, not copied");
  // Linear weights stay plain: converted to the compute dtype, or used in place when already in it.
  const tensor converted = unwrap(cpu_f32().prepare_weight(w16, weight_use::linear), "w");
  BOOST_TEST(!converted.packed());
  BOOST_TEST((converted.dtype() == dtype::f32));
  const tensor w32 = random_tensor({6, 5}, 10);
  BOOST_TEST(unwrap(cpu_f32().prepare_weight(w32, weight_use::linear), "w32").data() == w32.data());
  // Convolution filters are packed, and a packed tensor is only a weight.
  const tensor packed =
      unwrap(cpu_f32().prepare_weight(random_tensor({2, 5, 3, 3}, 11), weight_use::conv2d), "c");
  BOOST_TEST(packed.packed());
  BOOST_TEST(packed.shape() == (shape{2, 5, 3, 3}));
  BOOST_TEST(packed.reshape({90}).error().code() == errc::invalid_argument);
  BOOST_TEST(cpu_f32().silu(packed).error().code() == errc::invalid_argument);
  const tensor x = random_tensor({3, 5}, 9);
  check_pointwise(unwrap(cpu_f32().linear(x, converted, prepared_bias), "linear"),
                  unwrap(reference().linear(x, w16, bias), "reference"), f32_tolerance,
                  "prepared f16 linear");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
