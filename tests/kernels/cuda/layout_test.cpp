// Data movement on the GPU: bit-exact against the reference (on values already in the 16-bit dtype).

#include <boost/test/unit_test.hpp>

#include "cuda_test_util.hpp"
#include "gpu_fixture.hpp"

namespace crowdiff::kernels::cuda::test {
namespace {

// The reference's result on the same values, in the 16-bit dtype (exact: nothing is computed).
tensor expect(const result<tensor>& r, dtype t) {
  BOOST_TEST_REQUIRE(r.has_value());
  return converted(*r, t);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_layout, *boost::unit_test::precondition(gpu_available))

BOOST_AUTO_TEST_CASE(concat_slice_permute_upsample) {
  uint64_t seed = 1200;
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    tensor a16, b16;
    const tensor a = random_in(t, {2, 320, 8, 8}, seed++, a16), b = random_in(t, {2, 640, 8, 8}, seed++, b16);
    const tensor ad = to_device(be, a16), bd = to_device(be, b16);
    check_exact(converted(to_host(be, unwrap(be.concat({ad, bd}, 1), "concat")), t),
                expect(reference().concat({a, b}, 1), t), "concat channels");
    check_exact(converted(to_host(be, unwrap(be.slice(bd, 1, 100, 77), "slice")), t),
                expect(reference().slice(b, 1, 100, 77), t), "slice channels");
    const std::vector<std::vector<int>> perms = {{0, 2, 3, 1}, {0, 3, 1, 2}, {2, 0, 3, 1}, {1, 0, 2, 3}};
    for (const auto& perm : perms)
      check_exact(converted(to_host(be, unwrap(be.permute(ad, perm), "permute")), t),
                  expect(reference().permute(a, perm), t), "permute");
    tensor odd16;
    const tensor odd = random_in(t, {3, 5, 7}, seed++, odd16);
    check_exact(converted(to_host(be, unwrap(be.permute(to_device(be, odd16), {2, 1, 0}), "permute")), t),
                expect(reference().permute(odd, {2, 1, 0}), t), "permute odd");
    check_exact(converted(to_host(be, unwrap(be.upsample_nearest(ad, 2), "upsample")), t),
                expect(reference().upsample_nearest(a, 2), t), "upsample");
  }
}

BOOST_AUTO_TEST_CASE(embedding_and_convert) {
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    const tensor table = random_f32({49408, 16}, 1300);
    tensor ids = unwrap(tensor::host({2, 77}, dtype::i32), "ids");
    for (int i = 0; i < 154; ++i)
      ids.mutable_data_as<int32_t>()[i] = (i * 7919) % 49408;
    const tensor table_gpu = unwrap(be.prepare_weight(table, weight_use::embedding), "table");
    const tensor ids_gpu = to_device(be, ids);
    check_exact(converted(to_host(be, unwrap(be.embedding(ids_gpu, table_gpu), "embedding")), t),
                expect(reference().embedding(ids, converted(converted(table, t), dtype::f32)), t),
                "embedding");
    ids.mutable_data_as<int32_t>()[5] = 49408;
    BOOST_TEST((be.embedding(to_device(be, ids), table_gpu).error().code() == errc::invalid_argument));

    const tensor wide = unwrap(be.convert(table_gpu, dtype::f32), "convert");
    BOOST_TEST((wide.dtype() == dtype::f32));
    check_exact(converted(to_host(be, wide), t), converted(table, t), "convert to f32");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::cuda::test
