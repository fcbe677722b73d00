// concat, permute, slice, nearest upsample, embedding and dtype conversion against the reference.

#include <cstring>
#include <tuple>

#include <boost/test/unit_test.hpp>

#include "kernels/half.hpp"
#include "test_util.hpp"

namespace crowdiff::kernels::test {

BOOST_AUTO_TEST_SUITE(layout_ops)

// These ops only move elements: results must be bit-identical to the reference.
BOOST_AUTO_TEST_CASE(concat_along_each_dimension) {
  const tensor a = random_tensor({2, 3, 4, 5}, 1), b = random_tensor({2, 7, 4, 5}, 2);
  const tensor expected = unwrap(reference().concat({a, b}, 1), "reference");
  BOOST_TEST(expected.shape() == (shape{2, 10, 4, 5}));
  for (const backend_case& c : optimized_backends())
    check_pointwise(unwrap(c.be->concat({a, b}, 1), "concat"), expected, 0.0, c.label + " concat channels");
  const tensor x = random_tensor({3, 5}, 3), y = random_tensor({3, 2}, 4), z = random_tensor({3, 9}, 5);
  check_pointwise(unwrap(cpu_f32().concat({x, y, z}, -1), "concat"),
                  unwrap(reference().concat({x, y, z}, -1), "r"), 0.0, "concat last");
  check_pointwise(unwrap(cpu_f32().concat({a, a}, 0), "concat"), unwrap(reference().concat({a, a}, 0), "r"),
                  0.0, "concat batch");
  BOOST_TEST(cpu_f32().concat({a, random_tensor({2, 3, 4, 6}, 6)}, 1).error().code() ==
             errc::invalid_argument);
  BOOST_TEST(cpu_f32().concat({a}, 4).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(permutations) {
  struct perm_case {
    shape s;
    std::vector<int> perm;
  };
  const perm_case cases[] = {
      {{2, 3, 5, 7}, {0, 2, 3, 1}},                             // NCHW -> NHWC
      {{2, 5, 7, 3}, {0, 3, 1, 2}},                             // NHWC -> NCHW
      {{2, 3, 5, 7}, {3, 2, 1, 0}}, {{2, 320, 67}, {0, 2, 1}},  // the tiled transpose
      {{33, 65}, {1, 0}},           {{2, 1, 5, 1}, {1, 3, 0, 2}}, {{4, 6, 5}, {0, 1, 2}},
  };
  uint64_t seed = 700;
  for (const perm_case& pc : cases) {
    const tensor x = random_tensor(pc.s, ++seed);
    const tensor expected = unwrap(reference().permute(x, pc.perm), "reference");
    for (const backend_case& c : optimized_backends())
      check_pointwise(unwrap(c.be->permute(x, pc.perm), "permute"), expected, 0.0,
                      c.label + " permute " + pc.s.to_string());
  }
  BOOST_TEST(cpu_f32().permute(random_tensor({2, 3}, 1), {0, 0}).error().code() == errc::invalid_argument);
  BOOST_TEST(cpu_f32().permute(random_tensor({2, 3}, 1), {0}).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(slices) {
  const tensor x = random_tensor({2, 10, 3, 4}, 1);
  for (const auto& [dim, start, length] :
       {std::tuple{1, 2, 5}, std::tuple{-1, 1, 2}, std::tuple{0, 1, 1}, std::tuple{2, 0, 3}}) {
    const tensor expected = unwrap(reference().slice(x, dim, start, length), "reference");
    check_pointwise(unwrap(cpu_f32().slice(x, dim, start, length), "slice"), expected, 0.0,
                    "slice dim " + std::to_string(dim));
  }
  BOOST_TEST(cpu_f32().slice(x, 1, 8, 3).error().code() == errc::invalid_argument);
  BOOST_TEST(cpu_f32().slice(x, 4, 0, 1).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(nearest_upsampling) {
  const tensor x = random_tensor({2, 3, 5, 7}, 1);
  for (int64_t factor : {1, 2, 3}) {
    const tensor expected = unwrap(reference().upsample_nearest(x, factor), "reference");
    BOOST_TEST(expected.shape() == (shape{2, 3, 5 * factor, 7 * factor}));
    check_pointwise(unwrap(cpu_f32().upsample_nearest(x, factor), "upsample"), expected, 0.0,
                    "upsample x" + std::to_string(factor));
  }
  BOOST_TEST(cpu_f32().upsample_nearest(x, 0).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(embedding_lookup) {
  for (dtype table_dtype : {dtype::f32, dtype::f16, dtype::bf16}) {
    const tensor table = random_tensor({50, 24}, 1, -1.0f, 1.0f, table_dtype);
    auto ids = unwrap(tensor::host({2, 7}, dtype::i32), "ids");
    for (int i = 0; i < 14; ++i)
      ids.mutable_data_as<int32_t>()[i] = (i * 13) % 50;
    const tensor expected = unwrap(reference().embedding(ids, table), "reference");
    BOOST_TEST(expected.shape() == (shape{2, 7, 24}));
    const tensor prepared = unwrap(cpu_f32().prepare_weight(table, weight_use::embedding), "prepare");
    check_pointwise(unwrap(cpu_f32().embedding(ids, prepared), "embedding"), expected, 0.0,
                    "embedding " + std::string(to_string(table_dtype)));
    ids.mutable_data_as<int32_t>()[3] = 50;
    BOOST_TEST(cpu_f32().embedding(ids, table).error().code() == errc::invalid_argument);
    BOOST_TEST(reference().embedding(ids, table).error().code() == errc::invalid_argument);
  }
  auto wide_ids = unwrap(tensor::host({3}, dtype::i64), "ids");
  wide_ids.mutable_data_as<int64_t>()[1] = 4;
  const tensor table = random_tensor({5, 8}, 2);
  check_pointwise(unwrap(cpu_f32().embedding(wide_ids, table), "embedding"),
                  unwrap(reference().embedding(wide_ids, table), "reference"), 0.0, "i64 ids");
  BOOST_TEST(cpu_f32().embedding(table, table).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(conversions_round_to_nearest_even) {
  const tensor x = random_tensor({1000}, 1, -70000.0f, 70000.0f);
  for (dtype t : {dtype::bf16, dtype::f16}) {
    const tensor cpu = unwrap(cpu_f32().convert(x, t), "convert");
    const tensor ref = unwrap(reference().convert(x, t), "reference");
    BOOST_TEST(std::memcmp(cpu.data(), ref.data(), cpu.nbytes()) == 0, "bits of " << to_string(t));
    // Back to f32 (values past 65504 are f16 infinities, on both sides).
    const tensor back = unwrap(cpu_f32().convert(cpu, dtype::f32), "back");
    const tensor ref_back = unwrap(reference().convert(ref, dtype::f32), "reference back");
    BOOST_TEST(std::memcmp(back.data(), ref_back.data(), back.nbytes()) == 0,
               "bits back from " << to_string(t));
  }
  BOOST_TEST(cpu_f32().convert(x, dtype::i32).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
