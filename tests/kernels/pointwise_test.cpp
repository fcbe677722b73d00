// Activations, GEGLU, softmax, scale and broadcast add/mul against the reference.

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

namespace crowdiff::kernels::test {

namespace {
// Pointwise results carry only the activation's own rounding (a few ulp), far below f32_tolerance.
constexpr double pointwise_tolerance = 2e-6;
}  // namespace

BOOST_AUTO_TEST_SUITE(pointwise_ops)

BOOST_AUTO_TEST_CASE(activations_over_their_range) {
  // [-12, 12] reaches the tails where sigmoid and erfc underflow; 10007 leaves a partial vector.
  const tensor x = random_tensor({10007}, 1, -12.0f, 12.0f);
  for (activation f : {activation::silu, activation::gelu, activation::gelu_tanh, activation::quick_gelu}) {
    const tensor expected = unwrap(reference().activate(x, f), "reference");
    for (const backend_case& c : optimized_backends()) {
      const tensor actual = unwrap(c.be->activate(x, f), "activate");
      check_pointwise(actual, expected, pointwise_tolerance, c.label + " " + std::string(to_string(f)));
      // Elementwise relative accuracy too, over |x| <= 4 where activations live. Further out the tails of
      // GELU are below 1e-4 in magnitude and their relative error grows with |x| (the rounding of x^2 inside
      // exp), which the normalized bound above still covers.
      const std::vector<float> a = to_vector(actual), e = to_vector(expected), in = to_vector(x);
      int bad = 0;
      for (size_t i = 0; i < a.size(); ++i)
        bad += std::abs(in[i]) <= 4.0f && std::abs(a[i] - e[i]) > 2e-6f * std::abs(e[i]) + 1e-30f;
      BOOST_TEST(bad == 0,
                 c.label << " " << to_string(f) << ": " << bad << " elements off by more than 2e-6");
    }
  }
}

BOOST_AUTO_TEST_CASE(activation_in_place) {
  const tensor x = random_tensor({3, 33}, 2, -4.0f, 4.0f);
  const tensor expected = unwrap(reference().silu(x), "reference");
  const tensor copy = unwrap(cpu_f32().scale(x, 1.0f), "copy");
  const tensor result = unwrap(cpu_f32().silu(copy, copy), "in place");
  BOOST_TEST(result.data() == copy.data());
  check_pointwise(copy, expected, pointwise_tolerance, "silu in place");
}

BOOST_AUTO_TEST_CASE(geglu_against_reference) {
  for (const shape& s : {shape{3, 5, 194}, shape{2, 4, 64}, shape{1, 2}}) {
    const tensor x = random_tensor(s, 3, -5.0f, 5.0f);
    const tensor expected = unwrap(reference().geglu(x), "reference");
    for (const backend_case& c : optimized_backends())
      check_pointwise(unwrap(c.be->geglu(x), "geglu"), expected, pointwise_tolerance,
                      c.label + " geglu " + s.to_string());
  }
}

BOOST_AUTO_TEST_CASE(softmax_against_reference) {
  for (const shape& s : {shape{7, 1025}, shape{2, 3, 77}, shape{4, 1}, shape{1, 16}}) {
    const tensor x = random_tensor(s, 4, -20.0f, 20.0f);
    const tensor expected = unwrap(reference().softmax(x), "reference");
    for (const backend_case& c : optimized_backends())
      check_pointwise(unwrap(c.be->softmax(x), "softmax"), expected, f32_tolerance,
                      c.label + " softmax " + s.to_string());
  }
}

BOOST_AUTO_TEST_CASE(scale_against_reference) {
  const tensor x = random_tensor({5, 999}, 5);
  const tensor expected = unwrap(reference().scale(x, 0.18215f, -0.5f), "reference");
  for (const backend_case& c : optimized_backends())
    check_pointwise(unwrap(c.be->scale(x, 0.18215f, -0.5f), "scale"), expected, pointwise_tolerance,
                    c.label + " scale");
}

BOOST_AUTO_TEST_CASE(broadcast_add_and_mul) {
  struct bc_case {
    shape a, b;
  };
  const bc_case cases[] = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}},  // residual
      {{2, 3, 4, 5}, {2, 3, 1, 1}},  // time embedding [N, C] reshaped to [N, C, 1, 1]
      {{2, 3, 4, 5}, {5}},           // a bias along the last dimension
      {{2, 3, 4, 5}, {1, 3, 1, 5}},
      {{2, 77, 768}, {77, 768}},  // positional embedding
      {{4, 33}, {1}},
      {{2, 1, 7}, {2, 1, 1}},
  };
  uint64_t seed = 600;
  for (const bc_case& bc : cases) {
    const tensor a = random_tensor(bc.a, ++seed), b = random_tensor(bc.b, ++seed);
    const tensor sum = unwrap(reference().add(a, b), "reference add");
    const tensor product = unwrap(reference().mul(a, b), "reference mul");
    for (const backend_case& c : optimized_backends()) {
      const std::string what = c.label + " " + bc.a.to_string() + " (op) " + bc.b.to_string();
      check_pointwise(unwrap(c.be->add(a, b), "add"), sum, pointwise_tolerance, "add " + what);
      check_pointwise(unwrap(c.be->mul(a, b), "mul"), product, pointwise_tolerance, "mul " + what);
    }
  }
}

BOOST_AUTO_TEST_CASE(add_in_place_and_aliasing_rules) {
  const tensor a = unwrap(cpu_f32().scale(random_tensor({4, 16}, 1), 1.0f), "a");
  const tensor b = random_tensor({16}, 2);
  const tensor expected = unwrap(reference().add(a, b), "reference");
  BOOST_TEST(cpu_f32().add(a, b, a).has_value());
  check_pointwise(a, expected, pointwise_tolerance, "add in place");
  // out may be b when b has a's shape.
  const tensor c = unwrap(cpu_f32().scale(random_tensor({4, 16}, 5), 1.0f), "c");
  const tensor c_expected = unwrap(reference().add(a, c), "reference");
  BOOST_TEST(cpu_f32().add(a, c, c).has_value());
  check_pointwise(c, c_expected, pointwise_tolerance, "add into b");
  // out may be a, never a part of it or of b.
  const tensor half = unwrap(a.narrow(0, 2), "narrow");
  BOOST_TEST(cpu_f32().add(half, random_tensor({2, 16}, 3), unwrap(a.narrow(1, 2), "n")).error().code() ==
             errc::invalid_argument);
  BOOST_TEST(cpu_f32().add(a, random_tensor({3, 16}, 4)).error().code() == errc::invalid_argument);
  BOOST_TEST(cpu_f32().geglu(random_tensor({3, 5}, 5)).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
