// group_norm (with and without fused SiLU) and layer_norm against the reference.

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

namespace crowdiff::kernels::test {

BOOST_AUTO_TEST_SUITE(norm_ops)

BOOST_AUTO_TEST_CASE(group_norm_against_reference) {
  struct gn_case {
    shape x;
    int64_t groups;
    bool affine, silu;
    float eps;
  };
  const gn_case cases[] = {
      {{2, 64, 9, 11}, 32, true, false, 1e-5f},  {{2, 64, 9, 11}, 32, true, true, 1e-6f},
      {{1, 96, 97}, 3, false, false, 1e-5f},     {{3, 6, 1, 1}, 1, true, true, 1e-5f},
      {{1, 320, 16, 16}, 32, true, true, 1e-5f}, {{2, 5, 7}, 5, false, true, 0.0f},
  };
  uint64_t seed = 2000;
  for (const gn_case& gc : cases) {
    // An offset mean checks that the statistics do not lose accuracy to it.
    const tensor x = random_tensor(gc.x, ++seed, 2.0f, 5.0f);
    const tensor gamma = gc.affine ? random_tensor({gc.x[1]}, ++seed, 0.5f, 1.5f, dtype::f16) : tensor();
    const tensor beta = gc.affine ? random_tensor({gc.x[1]}, ++seed) : tensor();
    const tensor expected = unwrap(reference().group_norm(x, gc.groups, gamma, beta, gc.eps, gc.silu), "ref");
    for (const backend_case& c : optimized_backends()) {
      const tensor actual =
          unwrap(c.be->group_norm(x, gc.groups, gamma, beta, gc.eps, gc.silu), "group_norm");
      check_pointwise(actual, expected, f32_tolerance,
                      c.label + " group_norm " + gc.x.to_string() + " groups=" + std::to_string(gc.groups) +
                          (gc.silu ? " +silu" : ""));
    }
  }
}

BOOST_AUTO_TEST_CASE(layer_norm_against_reference) {
  const shape cases[] = {{3, 77, 768}, {5, 1025}, {2, 1}, {4, 40}};
  uint64_t seed = 2100;
  for (const shape& s : cases) {
    const tensor x = random_tensor(s, ++seed, -3.0f, 4.0f);
    const tensor gamma = random_tensor({s[-1]}, ++seed, 0.5f, 1.5f), beta = random_tensor({s[-1]}, ++seed);
    for (bool affine : {true, false}) {
      const tensor g = affine ? gamma : tensor(), b = affine ? beta : tensor();
      const tensor expected = unwrap(reference().layer_norm(x, g, b, 1e-5f), "ref");
      for (const backend_case& c : optimized_backends())
        check_pointwise(unwrap(c.be->layer_norm(x, g, b, 1e-5f), "layer_norm"), expected, f32_tolerance,
                        c.label + " layer_norm " + s.to_string() + (affine ? " affine" : ""));
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_bad_groups) {
  const tensor x = random_tensor({1, 6, 4, 4}, 1);
  for (backend* be : {&reference(), &cpu_f32()}) {
    BOOST_TEST(be->group_norm(x, 4, {}, {}, 1e-5f).error().code() == errc::invalid_argument);
    BOOST_TEST(be->group_norm(x, 0, {}, {}, 1e-5f).error().code() == errc::invalid_argument);
    BOOST_TEST(be->group_norm(x, 3, random_tensor({5}, 2), {}, 1e-5f).error().code() ==
               errc::invalid_argument);
    BOOST_TEST(be->layer_norm(x, random_tensor({5}, 3), {}, 1e-5f).error().code() == errc::invalid_argument);
    BOOST_TEST(be->layer_norm(x, {}, {}, -1.0f).error().code() == errc::invalid_argument);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
