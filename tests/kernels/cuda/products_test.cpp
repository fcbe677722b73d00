// cuBLASLt linear and matmul, cuDNN conv2d, against the reference: SD shapes and awkward ones, prepared and
// unprepared weights, fused and unfused bias, symmetric and asymmetric padding.

#include <boost/test/unit_test.hpp>

#include "cuda_test_util.hpp"
#include "gpu_fixture.hpp"

namespace crowdiff::kernels::cuda::test {

BOOST_AUTO_TEST_SUITE(cuda_products, *boost::unit_test::precondition(gpu_available))

BOOST_AUTO_TEST_CASE(linear_with_and_without_bias) {
  struct linear_case {
    shape x;
    int64_t out;
    bool bias, prepared;
  };
  const linear_case cases[] = {
      {{2, 77, 768}, 320, true, true},  // cross-attention key projection (no bias in SD; here with)
      {{2, 64, 320}, 1280, false, true},
      {{3, 97}, 33, true, false},      // odd sizes, f32 weight converted per call
      {{1, 1280}, 1280, true, false},  // the time embedding: one row
  };
  uint64_t seed = 10;
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    for (const linear_case& c : cases) {
      tensor x16, w16;
      const tensor x = random_in(t, c.x, seed++, x16);
      const tensor w = random_in(t, {c.out, c.x[c.x.rank() - 1]}, seed++, w16, -0.1f, 0.1f);
      const tensor b = random_f32({c.out}, seed++);
      const tensor bias_in_t = converted(b, t);  // what the kernel adds, once rounded
      const tensor expected =
          unwrap(reference().linear(x, w, c.bias ? converted(bias_in_t, dtype::f32) : tensor{}), "reference");
      // Unprepared: an f32 weight on the device, converted by every call.
      const tensor wd = c.prepared ? unwrap(be.prepare_weight(w16, weight_use::linear), "prepare")
                                   : unwrap(be.convert(to_device(be, w16), dtype::f32), "f32 weight");
      const tensor bd = c.bias ? unwrap(be.prepare_weight(bias_in_t, weight_use::other), "bias") : tensor{};
      const tensor y = unwrap(be.linear(to_device(be, x16), wd, bd), "linear");
      check_product(to_host(be, y), expected, t,
                    "linear " + c.x.to_string() + " -> " + std::to_string(c.out));
    }
  }
}

BOOST_AUTO_TEST_CASE(batched_matmul) {
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    tensor a16, b16, bt16, bb16;
    const tensor a = random_in(t, {3, 2, 65, 40}, 30, a16);
    const tensor b = random_in(t, {3, 2, 40, 77}, 31, b16);
    const tensor bt = random_in(t, {3, 2, 77, 40}, 32, bt16);
    const tensor bb = random_in(t, {1, 40, 33}, 33, bb16);
    check_product(to_host(be, unwrap(be.matmul(to_device(be, a16), to_device(be, b16)), "matmul")),
                  unwrap(reference().matmul(a, b), "reference"), t, "matmul");
    const matmul_options transposed{true, 0.125f};
    check_product(
        to_host(be, unwrap(be.matmul(to_device(be, a16), to_device(be, bt16), transposed), "matmul^T")),
        unwrap(reference().matmul(a, bt, transposed), "reference"), t, "matmul transposed, alpha");
    const tensor a3 = unwrap(a.reshape({6, 65, 40}), "reshape"), a316 = unwrap(a16.reshape({6, 65, 40}), "r");
    check_product(to_host(be, unwrap(be.matmul(to_device(be, a316), to_device(be, bb16)), "broadcast")),
                  unwrap(reference().matmul(a3, bb), "reference"), t, "matmul with b broadcast");
  }
}

BOOST_AUTO_TEST_CASE(conv2d_shapes_and_padding) {
  struct conv_case {
    shape x;
    int64_t out, k;
    conv2d_options options;
    bool bias;
  };
  const conv_case cases[] = {
      {{2, 64, 16, 16}, 64, 3, conv2d_options::symmetric(1, 1), true},  // a ResNet block's 3x3
      {{1, 32, 15, 17}, 48, 3, conv2d_options::symmetric(2, 1), true},  // downsampling, odd sizes
      {{1, 16, 9, 7}, 16, 3, {2, 0, 1, 0, 1}, true},                    // the VAE encoder's (0, 1, 0, 1)
      {{2, 40, 8, 8}, 24, 1, conv2d_options::symmetric(1, 0), false},   // 1x1 shortcut, no bias
      {{1, 4, 16, 16}, 32, 3, conv2d_options::symmetric(1, 1), true},   // conv_in: 4 channels
  };
  uint64_t seed = 40;
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    for (const conv_case& c : cases) {
      tensor x16, w16;
      const tensor x = random_in(t, c.x, seed++, x16);
      const tensor w = random_in(t, {c.out, c.x[1], c.k, c.k}, seed++, w16, -0.2f, 0.2f);
      const tensor b = converted(converted(random_f32({c.out}, seed++), t), dtype::f32);
      const tensor expected = unwrap(reference().conv2d(x, w, c.bias ? b : tensor{}, c.options), "reference");
      const tensor wd = unwrap(be.prepare_weight(w16, weight_use::conv2d), "prepare");
      const tensor bd = c.bias ? unwrap(be.prepare_weight(b, weight_use::other), "bias") : tensor{};
      for (int repeat = 0; repeat < 2; ++repeat) {  // the second call runs the cached plan
        const tensor y = unwrap(be.conv2d(to_device(be, x16), wd, bd, c.options), "conv2d");
        check_product(to_host(be, y), expected, t, "conv2d " + c.x.to_string() + " k" + std::to_string(c.k));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::cuda::test
