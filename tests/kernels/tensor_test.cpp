// shape, tensor views, and the scalar f16/bf16 conversions.

#include "kernels/tensor.hpp"

#include <cmath>
#include <limits>

#include <boost/test/unit_test.hpp>

#include "kernels/half.hpp"
#include "test_util.hpp"

namespace crowdiff::kernels::test {

BOOST_AUTO_TEST_SUITE(tensor_basics)

BOOST_AUTO_TEST_CASE(shape_counts_and_prints) {
  const shape s{2, 320, 64, 64};
  BOOST_TEST(s.rank() == 4);
  BOOST_TEST(s.numel() == 2 * 320 * 64 * 64);
  BOOST_TEST(s.numel(1, 3) == 320 * 64);
  BOOST_TEST(s[-1] == 64);
  BOOST_TEST(s.to_string() == "[2, 320, 64, 64]");
  BOOST_TEST(shape{}.numel() == 1);
  BOOST_TEST((shape{3, 0}.numel()) == 0);
  const int64_t too_many[] = {1, 1, 1, 1, 1, 1, 1};
  const int64_t negative[] = {2, -1};
  BOOST_TEST(!shape::valid(too_many));
  BOOST_TEST(!shape::valid(negative));
}

BOOST_AUTO_TEST_CASE(borrowed_memory_is_not_copied) {
  float data[12] = {};
  data[5] = 7.0f;
  const tensor t = tensor::borrow(data, {3, 4}, dtype::f32);
  BOOST_TEST(t.data() == static_cast<const void*>(data));
  BOOST_TEST(!t.writable());
  BOOST_TEST(t.storage() == nullptr);
  BOOST_TEST(t.data_as<float>()[5] == 7.0f);
  const tensor m = tensor::borrow_mutable(data, {12}, dtype::f32);
  BOOST_TEST(m.writable());
  // Ops refuse to write into read-only memory.
  BOOST_TEST(cpu_f32().scale(m, 2.0f, 0.0f, t.reshape({12}).value()).error().code() ==
             errc::invalid_argument);
  BOOST_TEST(cpu_f32().scale(m, 2.0f, 0.0f, m).has_value());
  BOOST_TEST(data[5] == 14.0f);
}

BOOST_AUTO_TEST_CASE(reshape_and_narrow_are_views) {
  const tensor t = unwrap(tensor::host({2, 3, 4}, dtype::f32), "host");
  const tensor r = unwrap(t.reshape({6, -1}), "reshape");
  BOOST_TEST(r.shape() == (shape{6, 4}));
  BOOST_TEST(r.data() == t.data());
  BOOST_TEST(t.reshape({5, -1}).error().code() == errc::invalid_argument);
  BOOST_TEST(t.reshape({2, 3, 5}).error().code() == errc::invalid_argument);
  BOOST_TEST(t.reshape({-1, -1}).error().code() == errc::invalid_argument);
  const tensor n = unwrap(t.narrow(1, 1), "narrow");
  BOOST_TEST(n.shape() == (shape{1, 3, 4}));
  BOOST_TEST(static_cast<const char*>(n.data()) - static_cast<const char*>(t.data()) == 12 * 4);
  BOOST_TEST(t.narrow(1, 2).error().code() == errc::invalid_argument);
  BOOST_TEST(t.to_string() == "f32[2, 3, 4]@cpu");
  BOOST_TEST(!tensor().defined());
}

BOOST_AUTO_TEST_CASE(every_f16_round_trips) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float f = f16_to_f32(h);
    if (std::isnan(f)) {
      BOOST_TEST(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    BOOST_TEST_REQUIRE(f32_to_f16(f) == h, "f16 bits " << bits);
  }
}

BOOST_AUTO_TEST_CASE(f16_rounds_to_nearest_even) {
  BOOST_TEST(f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);  // halfway, to the even 1.0
  BOOST_TEST(f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);  // halfway, to the even 1 + 2^-9
  BOOST_TEST(f32_to_f16(65504.0f) == 0x7bff);
  BOOST_TEST(f32_to_f16(65519.0f) == 0x7bff);
  BOOST_TEST(f32_to_f16(65520.0f) == 0x7c00);               // rounds to infinity
  BOOST_TEST(f32_to_f16(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  BOOST_TEST(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);  // halfway to it, to even zero
  BOOST_TEST(f32_to_f16(std::ldexp(1.5f, -25)) == 0x0001);
  BOOST_TEST(f32_to_f16(-0.0f) == 0x8000);
  BOOST_TEST(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
}

BOOST_AUTO_TEST_CASE(bf16_rounds_to_nearest_even) {
  BOOST_TEST(f32_to_bf16(1.0f) == 0x3f80);
  BOOST_TEST(f32_to_bf16(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // halfway, to even
  BOOST_TEST(f32_to_bf16(std::bit_cast<float>(0x3f818000u)) == 0x3f82);  // halfway, to even (up)
  BOOST_TEST(f32_to_bf16(std::bit_cast<float>(0x3f808001u)) == 0x3f81);
  BOOST_TEST(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  BOOST_TEST(std::isinf(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::max()))));
  for (uint32_t bits = 0; bits < 0x10000; bits += 7) {
    const float f = bf16_to_f32(static_cast<uint16_t>(bits));
    if (!std::isnan(f))
      BOOST_TEST_REQUIRE(f32_to_bf16(f) == bits);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
