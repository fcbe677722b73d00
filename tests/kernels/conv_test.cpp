// conv2d of the optimized backends against the reference.

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

namespace crowdiff::kernels::test {
namespace {

struct conv_case {
  shape x;
  int64_t out_channels, kernel;
  conv2d_options options;
  bool bias;
  dtype weight_dtype;
  bool prepared;
};

std::string describe(const conv_case& c) {
  const conv2d_options& o = c.options;
  return "conv2d x" + c.x.to_string() + " o=" + std::to_string(c.out_channels) +
         " k=" + std::to_string(c.kernel) + " stride=" + std::to_string(o.stride) +
         " pad=" + std::to_string(o.pad_top) + "," + std::to_string(o.pad_bottom) + "," +
         std::to_string(o.pad_left) + "," + std::to_string(o.pad_right) +
         " w:" + std::string(to_string(c.weight_dtype)) + (c.prepared ? " prepared" : " raw");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conv_ops)

BOOST_AUTO_TEST_CASE(conv2d_against_reference) {
  const conv_case cases[] = {
      {{2, 5, 9, 11}, 7, 3, conv2d_options::symmetric(1, 1), true, dtype::f32, true},
      {{2, 5, 9, 11}, 7, 3, conv2d_options::symmetric(2, 1), true, dtype::f32, false},
      {{1, 4, 13, 13}, 3, 3, {2, 0, 1, 0, 1}, true, dtype::f16, true},  // the VAE encoder's downsample
                                                                        // padding
      {{1, 3, 16, 16}, 32, 3, conv2d_options::symmetric(1, 1), true, dtype::f32, true},   // an image in
      {{2, 64, 16, 16}, 4, 3, conv2d_options::symmetric(1, 1), true, dtype::bf16, true},  // latent out
      {{1, 64, 8, 8}, 97, 1, conv2d_options::symmetric(1, 0), true, dtype::f32, true},    // 1x1 shortcut
      {{2, 32, 17, 15}, 48, 3, conv2d_options::symmetric(1, 1), false, dtype::f32, true},
      {{1, 16, 6, 7}, 16, 3, conv2d_options::symmetric(1, 0), true, dtype::f16, false},  // no padding
  };
  uint64_t seed = 1000;
  for (const conv_case& cc : cases) {
    const tensor x = random_tensor(cc.x, ++seed);
    const tensor w =
        random_tensor({cc.out_channels, cc.x[1], cc.kernel, cc.kernel}, ++seed, -1.0f, 1.0f, cc.weight_dtype);
    const tensor b = cc.bias ? random_tensor({cc.out_channels}, ++seed) : tensor();
    const tensor expected = unwrap(reference().conv2d(x, w, b, cc.options), "reference");
    const tensor low =
        unwrap(reference().conv2d(rounded_to_bf16(x), rounded_to_bf16(w), b, cc.options), "low");
    for (const backend_case& c : optimized_backends()) {
      const tensor weight = cc.prepared ? unwrap(c.be->prepare_weight(w, weight_use::conv2d), "prepare") : w;
      check_product(c, unwrap(c.be->conv2d(x, weight, b, cc.options), "conv2d"), expected, low, describe(cc));
    }
  }
}

BOOST_AUTO_TEST_CASE(prepared_weight_serves_other_shapes) {
  // One packed weight used where the backend wants other layouts: a 1x1 filter (packed plain for the matmul
  // path) in strided and padded convolutions, and a 3x3 filter (packed for a 64x64 image) on tiny images.
  struct use {
    shape filter;
    int64_t size;
    conv2d_options options;
  };
  const use uses[] = {
      {{96, 64, 1, 1}, 8, {}},
      {{96, 64, 1, 1}, 8, conv2d_options::symmetric(2, 0)},
      {{96, 64, 1, 1}, 5, conv2d_options::symmetric(1, 1)},
      {{48, 64, 3, 3}, 4, conv2d_options::symmetric(1, 1)},
      {{48, 64, 3, 3}, 64, conv2d_options::symmetric(2, 1)},
  };
  const tensor w1 = random_tensor({96, 64, 1, 1}, 7), w3 = random_tensor({48, 64, 3, 3}, 8);
  for (const backend_case& c : optimized_backends()) {
    const tensor packed1 = unwrap(c.be->prepare_weight(w1, weight_use::conv2d), "prepare");
    const tensor packed3 = unwrap(c.be->prepare_weight(w3, weight_use::conv2d), "prepare");
    BOOST_TEST(packed1.packed());
    for (int round = 0; round < 2; ++round) {  // the second round finds the layouts made in the first
      for (const use& u : uses) {
        const bool pointwise = u.filter[2] == 1;
        const tensor& w = pointwise ? w1 : w3;
        const tensor x = random_tensor({1, 64, u.size, u.size}, static_cast<uint64_t>(u.size));
        const tensor expected = unwrap(reference().conv2d(x, w, {}, u.options), "reference");
        const tensor low =
            unwrap(reference().conv2d(rounded_to_bf16(x), rounded_to_bf16(w), {}, u.options), "low");
        check_product(c, unwrap(c.be->conv2d(x, pointwise ? packed1 : packed3, {}, u.options), "conv2d"),
                      expected, low,
                      "packed " + u.filter.to_string() + " at " + std::to_string(u.size) + " stride " +
                          std::to_string(u.options.stride));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_bad_geometry) {
  const tensor x = random_tensor({1, 4, 5, 5}, 1);
  for (backend* be : {&reference(), &cpu_f32()}) {
    BOOST_TEST(be->conv2d(x, random_tensor({2, 3, 3, 3}, 2), {}, {}).error().code() ==
               errc::invalid_argument);
    BOOST_TEST(be->conv2d(x, random_tensor({2, 4, 7, 7}, 3), {}, {}).error().code() ==
               errc::invalid_argument);
    BOOST_TEST(be->conv2d(x, random_tensor({2, 4, 3, 3}, 4), {}, {0, 1, 1, 1, 1}).error().code() ==
               errc::invalid_argument);
    BOOST_TEST(be->conv2d(x, random_tensor({2, 4, 3, 3}, 5), random_tensor({3}, 6), {}).error().code() ==
               errc::invalid_argument);
    BOOST_TEST(
        be->conv2d(random_tensor({4, 5, 5}, 7), random_tensor({2, 4, 3, 3}, 8), {}, {}).error().code() ==
        errc::invalid_argument);
  }
  // A packed weight belongs to the backend that packed it.
  const tensor packed =
      unwrap(cpu_f32().prepare_weight(random_tensor({2, 4, 3, 3}, 9), weight_use::conv2d), "p");
  BOOST_TEST(reference().conv2d(x, packed, {}, {}).error().code() == errc::invalid_argument);
  if (backend* bf16 = cpu_bf16())
    BOOST_TEST(bf16->conv2d(x, packed, {}, {}).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
