// linear and batched matmul of the optimized backends against the reference.

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

namespace crowdiff::kernels::test {
namespace {

struct linear_case {
  int64_t m, k, n;
  bool bias;
  dtype weight_dtype;
  bool prepared;
};

std::string describe(const linear_case& c) {
  return "linear m=" + std::to_string(c.m) + " k=" + std::to_string(c.k) + " n=" + std::to_string(c.n) +
         (c.bias ? " +bias" : "") + " w:" + std::string(to_string(c.weight_dtype)) +
         (c.prepared ? " prepared" : " raw");
}

void check_linear(const linear_case& lc, uint64_t seed) {
  const tensor x = random_tensor({lc.m, lc.k}, seed);
  const tensor w = random_tensor({lc.n, lc.k}, seed + 1, -1.0f, 1.0f, lc.weight_dtype);
  const tensor b = lc.bias ? random_tensor({lc.n}, seed + 2) : tensor();
  const tensor expected = unwrap(reference().linear(x, w, b), "reference linear");
  const tensor low = unwrap(reference().linear(rounded_to_bf16(x), rounded_to_bf16(w), b), "reference bf16");
  for (const backend_case& c : optimized_backends()) {
    const tensor weight = lc.prepared ? unwrap(c.be->prepare_weight(w, weight_use::linear), "prepare") : w;
    const tensor actual = unwrap(c.be->linear(x, weight, b), "linear");
    check_product(c, actual, expected, low, describe(lc));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(matmul_ops)

BOOST_AUTO_TEST_CASE(linear_awkward_shapes) {
  const linear_case cases[] = {
      {1, 1, 1, true, dtype::f32, false},        {97, 65, 33, true, dtype::f32, true},
      {77, 768, 97, true, dtype::f32, true},     {77, 768, 97, false, dtype::f16, true},
      {130, 320, 1280, true, dtype::bf16, true}, {5, 1025, 17, false, dtype::f32, false},
      {33, 64, 65, true, dtype::f16, false},     {256, 40, 40, true, dtype::f32, true},
  };
  uint64_t seed = 100;
  for (const linear_case& c : cases)
    check_linear(c, seed += 10);
}

BOOST_AUTO_TEST_CASE(linear_keeps_leading_dimensions) {
  const tensor x = random_tensor({2, 3, 7, 16}, 1);
  const tensor w = random_tensor({5, 16}, 2);
  const tensor expected = unwrap(reference().linear(x, w), "reference");
  BOOST_TEST(expected.shape() == (shape{2, 3, 7, 5}));
  const tensor actual =
      unwrap(cpu_f32().linear(x, unwrap(cpu_f32().prepare_weight(w, weight_use::linear), "prep")), "cpu");
  check_product({"cpu/f32", &cpu_f32(), false}, actual, expected, expected, "rank-4 linear");
}

BOOST_AUTO_TEST_CASE(linear_writes_into_out) {
  const tensor x = random_tensor({9, 12}, 3), w = random_tensor({4, 12}, 4);
  const tensor out = unwrap(cpu_f32().empty({9, 4}), "empty");
  const tensor returned = unwrap(cpu_f32().linear(x, w, {}, out), "linear into");
  BOOST_TEST(returned.data() == out.data());
  check_pointwise(out, unwrap(reference().linear(x, w), "reference"), f32_tolerance, "linear into out");
}

BOOST_AUTO_TEST_CASE(batched_matmul) {
  struct mm_case {
    shape a, b;
    matmul_options options;
  };
  const mm_case cases[] = {
      {{3, 17, 33}, {3, 33, 65}, {}},
      {{3, 17, 33}, {3, 65, 33}, {true, 1.0f}},
      {{2, 2, 9, 40}, {1, 40, 77}, {false, 0.125f}},  // b broadcast over the batch
      {{1, 1, 1}, {1, 1, 1}, {}},
      {{4, 64, 80}, {4, 77, 80}, {true, 0.1118f}},
  };
  uint64_t seed = 500;
  for (const mm_case& mc : cases) {
    const tensor a = random_tensor(mc.a, ++seed), b = random_tensor(mc.b, ++seed);
    const tensor expected = unwrap(reference().matmul(a, b, mc.options), "reference");
    const tensor low = unwrap(reference().matmul(rounded_to_bf16(a), rounded_to_bf16(b), mc.options), "low");
    for (const backend_case& c : optimized_backends())
      check_product(c, unwrap(c.be->matmul(a, b, mc.options), "matmul"), expected, low,
                    "matmul " + mc.a.to_string() + " @ " + mc.b.to_string());
  }
}

BOOST_AUTO_TEST_CASE(rejects_bad_shapes) {
  const tensor x = random_tensor({4, 8}, 1), w = random_tensor({3, 9}, 2), b = random_tensor({4}, 3);
  for (backend* be : {&reference(), &cpu_f32()}) {
    BOOST_TEST(be->linear(x, w).error().code() == errc::invalid_argument);
    BOOST_TEST(be->linear(x, random_tensor({3, 8}, 4), b).error().code() == errc::invalid_argument);
    BOOST_TEST(be->matmul(x, random_tensor({7, 3}, 5)).error().code() == errc::invalid_argument);
    BOOST_TEST(be->matmul(random_tensor({2, 4, 8}, 6), random_tensor({3, 8, 5}, 7)).error().code() ==
               errc::invalid_argument);
    const tensor wrong_out = unwrap(be->empty({4, 2}), "empty");
    BOOST_TEST(be->linear(x, random_tensor({3, 8}, 8), {}, wrong_out).error().code() ==
               errc::invalid_argument);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
