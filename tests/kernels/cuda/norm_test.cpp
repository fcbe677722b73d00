// GroupNorm (+SiLU), LayerNorm and softmax on the GPU against the reference, at SD sizes (where group
// statistics are split over many blocks) and odd ones.

#include <boost/test/unit_test.hpp>

#include "cuda_test_util.hpp"
#include "gpu_fixture.hpp"

namespace crowdiff::kernels::cuda::test {

BOOST_AUTO_TEST_SUITE(cuda_norms, *boost::unit_test::precondition(gpu_available))

BOOST_AUTO_TEST_CASE(group_norm_sizes) {
  struct gn_case {
    shape x;
    int64_t groups;
    bool silu;
  };
  const gn_case cases[] = {
      {{2, 320, 64, 64}, 32, true}, {{1, 64, 7, 9}, 32, false}, {{2, 12, 5, 3}, 3, true}};
  uint64_t seed = 800;
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    for (const gn_case& c : cases) {
      tensor x16;
      const tensor x = random_in(t, c.x, seed++, x16, -2.0f, 3.0f);
      // Parameters as the kernel sees them: gamma prepared (the activation dtype), beta an f32 device tensor.
      const tensor gamma = converted(converted(random_f32({c.x[1]}, seed++, 0.5f, 1.5f), t), dtype::f32);
      const tensor beta = converted(converted(random_f32({c.x[1]}, seed++), t), dtype::f32);
      const tensor gamma_gpu = unwrap(be.prepare_weight(gamma, weight_use::other), "gamma");
      const tensor beta_gpu = unwrap(be.convert(to_device(be, beta), dtype::f32), "beta as f32");
      const tensor y = unwrap(be.group_norm(to_device(be, x16), c.groups, gamma_gpu, beta_gpu, 1e-5f, c.silu),
                              "group_norm");
      const tensor expected_rounded =
          unwrap(reference().group_norm(x, c.groups, gamma, beta, 1e-5f, c.silu), "reference");
      check_pointwise(to_host(be, y), expected_rounded, t, "group_norm " + c.x.to_string());
    }
  }
}

BOOST_AUTO_TEST_CASE(layer_norm_and_softmax) {
  uint64_t seed = 900;
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    for (const shape& s : {shape{2, 4096, 320}, shape{3, 33}, shape{2, 77, 768}}) {
      tensor x16;
      const tensor x = random_in(t, s, seed++, x16, -3.0f, 2.0f);
      const tensor gamma =
          converted(converted(random_f32({s[s.rank() - 1]}, seed++, 0.5f, 1.5f), t), dtype::f32);
      const tensor y =
          unwrap(be.layer_norm(to_device(be, x16),
                               unwrap(be.prepare_weight(gamma, weight_use::other), "gamma"), {}, 1e-5f),
                 "layer_norm");
      check_pointwise(to_host(be, y), unwrap(reference().layer_norm(x, gamma, {}, 1e-5f), "reference"), t,
                      "layer_norm " + s.to_string());
    }
    tensor s16;
    const tensor scores = random_in(t, {2, 8, 77, 1025}, seed++, s16, -8.0f, 8.0f);
    const tensor on_gpu = to_device(be, s16);
    const tensor p = unwrap(be.softmax(on_gpu, on_gpu), "softmax in place");
    check_pointwise(to_host(be, p), unwrap(reference().softmax(scores), "reference"), t, "softmax in place");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::cuda::test
