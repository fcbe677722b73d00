#include "cuda_test_util.hpp"

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>

#include "kernels/half.hpp"
#include "kernels/reference/reference_backend.hpp"

namespace crowdiff::kernels::cuda::test {

namespace {

float element(const tensor& t, int64_t i) {
  switch (t.dtype()) {
    case dtype::f16:
      return f16_to_f32(t.data_as<uint16_t>()[i]);
    case dtype::bf16:
      return bf16_to_f32(t.data_as<uint16_t>()[i]);
    default:
      return t.data_as<float>()[i];
  }
}

}  // namespace

tensor random_f32(const shape& s, uint64_t seed, float lo, float hi) {
  tensor out = unwrap(tensor::host(s, dtype::f32), "host tensor");
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < s.numel(); ++i)
    out.mutable_data_as<float>()[i] = dist(rng);
  return out;
}

tensor converted(const tensor& t, dtype to) {
  tensor out = unwrap(tensor::host(t.shape(), to), "host tensor");
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = element(t, i);
    switch (to) {
      case dtype::f16:
        out.mutable_data_as<uint16_t>()[i] = f32_to_f16(v);
        break;
      case dtype::bf16:
        out.mutable_data_as<uint16_t>()[i] = f32_to_bf16(v);
        break;
      default:
        out.mutable_data_as<float>()[i] = v;
        break;
    }
  }
  return out;
}

tensor random_in(dtype t, const shape& s, uint64_t seed, tensor& rounded, float lo, float hi) {
  rounded = converted(random_f32(s, seed, lo, hi), t);
  return converted(rounded, dtype::f32);
}

std::string error_metrics::to_string() const {
  std::ostringstream s;
  s << "relative rms " << relative_rms << ", max normalized " << max_normalized
    << (finite ? "" : ", NOT FINITE");
  return s.str();
}

error_metrics compare(const tensor& actual, const tensor& expected) {
  BOOST_TEST_REQUIRE(actual.shape() == expected.shape(), actual.to_string()
                                                             << " vs " << expected.to_string());
  error_metrics m;
  double diff2 = 0, ref2 = 0, ref_max = 0, diff_max = 0;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = element(actual, i), e = element(expected, i);
    m.finite = m.finite && std::isfinite(a);
    diff2 += (a - e) * (a - e);
    ref2 += e * e;
    diff_max = std::max(diff_max, std::abs(a - e));
    ref_max = std::max(ref_max, std::abs(e));
  }
  m.relative_rms = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  m.max_normalized = ref_max > 0 ? diff_max / ref_max : diff_max;
  return m;
}

void check_product(const tensor& actual, const tensor& expected, dtype t, const std::string& what) {
  const error_metrics err = compare(actual, expected);
  BOOST_TEST_CONTEXT(to_string(t) << " " << what << ": " << err.to_string()) {
    BOOST_TEST(err.finite);
    BOOST_TEST(err.relative_rms <= product_tolerance(t));
  }
}

void check_pointwise(const tensor& actual, const tensor& expected, dtype t, const std::string& what) {
  const error_metrics err = compare(actual, expected);
  BOOST_TEST_CONTEXT(to_string(t) << " " << what << ": " << err.to_string()) {
    BOOST_TEST(err.finite);
    BOOST_TEST(err.max_normalized <= pointwise_tolerance(t));
  }
}

void check_exact(const tensor& actual, const tensor& expected, const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_TEST_REQUIRE(actual.shape() == expected.shape());
    BOOST_TEST_REQUIRE((actual.dtype() == expected.dtype()));
    BOOST_TEST(std::memcmp(actual.data(), expected.data(), actual.nbytes()) == 0);
  }
}

backend& reference() {
  static std::unique_ptr<backend> be = make_reference_backend();
  return *be;
}

}  // namespace crowdiff::kernels::cuda::test
