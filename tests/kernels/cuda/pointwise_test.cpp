// Elementwise ops on the GPU against the reference: activations, GEGLU, alpha x + beta, and add/mul with the
// broadcasts a UNet uses (residuals, time embeddings, biases), in place and not.

#include <boost/test/unit_test.hpp>

#include "cuda_test_util.hpp"
#include "gpu_fixture.hpp"

namespace crowdiff::kernels::cuda::test {

BOOST_AUTO_TEST_SUITE(cuda_pointwise, *boost::unit_test::precondition(gpu_available))

BOOST_AUTO_TEST_CASE(activations_geglu_scale) {
  uint64_t seed = 1000;
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    for (const shape& s : {shape{2, 320, 64, 64}, shape{3, 97}}) {
      tensor x16;
      const tensor x = random_in(t, s, seed++, x16, -5.0f, 5.0f);
      for (const activation f :
           {activation::silu, activation::gelu, activation::gelu_tanh, activation::quick_gelu})
        check_pointwise(to_host(be, unwrap(be.activate(to_device(be, x16), f), "activate")),
                        unwrap(reference().activate(x, f), "reference"), t,
                        std::string(to_string(f)) + " " + s.to_string());
      const tensor in_place = to_device(be, x16);
      BOOST_TEST_REQUIRE(be.scale(in_place, 0.5f, 1.0f, in_place).has_value());
      check_pointwise(to_host(be, in_place), unwrap(reference().scale(x, 0.5f, 1.0f), "reference"), t,
                      "scale in place " + s.to_string());
    }
    tensor g16;
    const tensor g = random_in(t, {2, 4096, 2 * 1280}, seed++, g16, -3.0f, 3.0f);
    check_pointwise(to_host(be, unwrap(be.geglu(to_device(be, g16)), "geglu")),
                    unwrap(reference().geglu(g), "reference"), t, "geglu [2, 4096, 2560]");
  }
}

BOOST_AUTO_TEST_CASE(broadcasting) {
  const std::pair<shape, shape> cases[] = {
      {{2, 320, 64, 64}, {2, 320, 64, 64}},  // residual
      {{2, 320, 64, 64}, {2, 320, 1, 1}},    // time embedding
      {{2, 77, 768}, {768}},                 // bias over the last dimension
      {{3, 5, 7}, {5, 1}},                   // odd middle broadcast
      {{4, 9}, {1}},                         // a scalar
  };
  uint64_t seed = 1100;
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    for (const auto& [sa, sb] : cases) {
      tensor a16, b16;
      const tensor a = random_in(t, sa, seed++, a16, -2.0f, 2.0f);
      const tensor b = random_in(t, sb, seed++, b16, -2.0f, 2.0f);
      const tensor ad = to_device(be, a16), bd = to_device(be, b16);
      check_pointwise(to_host(be, unwrap(be.mul(ad, bd), "mul")), unwrap(reference().mul(a, b), "reference"),
                      t, "mul " + sa.to_string() + " by " + sb.to_string());
      BOOST_TEST_REQUIRE(be.add(ad, bd, ad).has_value());  // in place, as residual adds are
      check_pointwise(to_host(be, ad), unwrap(reference().add(a, b), "reference"), t,
                      "add " + sa.to_string() + " by " + sb.to_string());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::cuda::test
