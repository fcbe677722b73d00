#include "test_util.hpp"

#include <cmath>
#include <iostream>
#include <random>
#include <sstream>

#include "kernels/half.hpp"

namespace crowdiff::kernels::test {

tensor random_tensor(const shape& s, uint64_t seed, float lo, float hi, dtype t) {
  auto out = tensor::host(s, t);
  BOOST_TEST_REQUIRE(out.has_value());
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < s.numel(); ++i) {
    const float v = dist(rng);
    switch (t) {
      case dtype::f32:
        out->mutable_data_as<float>()[i] = v;
        break;
      case dtype::f16:
        out->mutable_data_as<uint16_t>()[i] = f32_to_f16(v);
        break;
      case dtype::bf16:
        out->mutable_data_as<uint16_t>()[i] = f32_to_bf16(v);
        break;
      default:
        BOOST_FAIL("random_tensor: not a float dtype");
    }
  }
  return *out;
}

std::vector<float> to_vector(const tensor& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) {
    const auto u = static_cast<size_t>(i);
    switch (t.dtype()) {
      case dtype::f32:
        out[u] = t.data_as<float>()[i];
        break;
      case dtype::f16:
        out[u] = f16_to_f32(t.data_as<uint16_t>()[i]);
        break;
      case dtype::bf16:
        out[u] = bf16_to_f32(t.data_as<uint16_t>()[i]);
        break;
      default:
        BOOST_FAIL("to_vector: not a float dtype");
    }
  }
  return out;
}

tensor rounded_to_bf16(const tensor& t) {
  auto out = tensor::host(t.shape(), dtype::f32);
  BOOST_TEST_REQUIRE(out.has_value());
  const std::vector<float> v = to_vector(t);
  for (size_t i = 0; i < v.size(); ++i)
    out->mutable_data_as<float>()[i] = bf16_to_f32(f32_to_bf16(v[i]));
  return *out;
}

std::string error_metrics::to_string() const {
  std::ostringstream s;
  s << "relative rms " << relative_rms << ", max abs " << max_abs << ", max normalized " << max_normalized
    << (finite ? "" : ", NOT FINITE");
  return s.str();
}

error_metrics compare(const tensor& actual, const tensor& expected) {
  BOOST_TEST_REQUIRE(actual.shape() == expected.shape(), actual.to_string()
                                                             << " vs " << expected.to_string());
  const std::vector<float> a = to_vector(actual), e = to_vector(expected);
  double diff2 = 0, ref2 = 0, ref_max = 0;
  error_metrics m;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - e[i];
    m.finite = m.finite && std::isfinite(a[i]);
    diff2 += d * d;
    ref2 += static_cast<double>(e[i]) * e[i];
    m.max_abs = std::max(m.max_abs, std::abs(d));
    ref_max = std::max(ref_max, std::abs(static_cast<double>(e[i])));
  }
  m.relative_rms = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  m.max_normalized = ref_max > 0 ? m.max_abs / ref_max : m.max_abs;
  return m;
}

void check_product(const backend_case& c, const tensor& actual, const tensor& expected,
                   const tensor& low_precision, const std::string& what) {
  const error_metrics err = compare(actual, expected);
  BOOST_TEST_CONTEXT(c.label << " " << what << ": " << err.to_string()) {
    BOOST_TEST(err.finite);
    if (!c.bf16) {
      BOOST_TEST(err.relative_rms <= f32_tolerance);
      BOOST_TEST(err.max_normalized <= f32_tolerance);
      return;
    }
    const error_metrics low = compare(low_precision, expected);
    BOOST_TEST_INFO("bf16-rounded inputs alone: " << low.to_string());
    BOOST_TEST(err.relative_rms <= bf16_factor * low.relative_rms + bf16_floor);
    BOOST_TEST(err.relative_rms <= bf16_ceiling);
  }
}

void check_pointwise(const tensor& actual, const tensor& expected, double tolerance,
                     const std::string& what) {
  const error_metrics err = compare(actual, expected);
  BOOST_TEST_CONTEXT(what << ": " << err.to_string()) {
    BOOST_TEST(err.finite);
    BOOST_TEST(err.max_normalized <= tolerance);
  }
}

backend& reference() {
  static std::unique_ptr<backend> be = make_reference_backend();
  return *be;
}

backend& cpu_f32() {
  static std::unique_ptr<backend> be = [] {
    auto made = make_cpu_backend({cpu_precision::f32, 0});
    BOOST_TEST_REQUIRE(made.has_value());
    return std::move(*made);
  }();
  return *be;
}

backend* cpu_bf16() {
  static std::unique_ptr<backend> be = [] {
    auto made = make_cpu_backend({cpu_precision::bf16, 0});
    if (!made) {
      std::cerr << "NOTE: skipping the bf16 CPU backend: " << made.error().to_string() << "\n";
      return std::unique_ptr<backend>();
    }
    return std::move(*made);
  }();
  return be.get();
}

std::vector<backend_case> optimized_backends() {
  std::vector<backend_case> out{{"cpu/f32", &cpu_f32(), false}};
  if (backend* bf16 = cpu_bf16())
    out.push_back({"cpu/bf16", bf16, true});
  return out;
}

}  // namespace crowdiff::kernels::test
