// Attention on the GPU against the reference: the fused kernel at every head-dim bucket with odd lengths,
// 77-key cross-attention and causal masking, SD 1.5's 4096-token self-attention (spot rows), and the blocked
// path for the VAE's single 512-wide head.

#include <boost/test/unit_test.hpp>

#include "cuda_test_util.hpp"
#include "gpu_fixture.hpp"

namespace crowdiff::kernels::cuda::test {
namespace {

struct attention_case {
  int64_t batch, heads, lq, lk, d, dv;
  bool causal;
};

void check(const attention_case& a, uint64_t seed, float spread) {
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    tensor q16, k16, v16;
    const tensor q = random_in(t, {a.batch, a.lq, a.heads * a.d}, seed, q16, -spread, spread);
    const tensor k = random_in(t, {a.batch, a.lk, a.heads * a.d}, seed + 1, k16, -1.5f, 1.5f);
    const tensor v = random_in(t, {a.batch, a.lk, a.heads * a.dv}, seed + 2, v16);
    const attention_options options{0.0f, a.causal};
    const tensor expected = unwrap(reference().attention(q, k, v, a.heads, options), "reference");
    const tensor out =
        unwrap(be.attention(to_device(be, q16), to_device(be, k16), to_device(be, v16), a.heads, options),
               "attention");
    check_product(to_host(be, out), expected, t,
                  "attention lq=" + std::to_string(a.lq) + " lk=" + std::to_string(a.lk) + " d=" +
                      std::to_string(a.d) + " dv=" + std::to_string(a.dv) + (a.causal ? " causal" : ""));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_attention, *boost::unit_test::precondition(gpu_available))

BOOST_AUTO_TEST_CASE(fused_kernel_shapes) {
  const attention_case cases[] = {
      {2, 8, 97, 77, 40, 40, false},      {1, 8, 1025, 77, 80, 80, false}, {2, 5, 256, 77, 64, 64, false},
      {1, 2, 300, 1025, 128, 128, false}, {1, 2, 97, 97, 160, 160, false}, {2, 12, 77, 77, 64, 64, true},
      {1, 1, 129, 129, 33, 17, true},     {1, 2, 33, 47, 24, 40, false},   {3, 1, 1, 1, 8, 8, false},
  };
  uint64_t seed = 500;
  for (const attention_case& a : cases) {
    check(a, seed += 10, 1.0f);
    check(a, seed += 10, 6.0f);
  }
}

BOOST_AUTO_TEST_CASE(blocked_path_for_wide_heads) {
  check({1, 1, 130, 130, 512, 512, false}, 600, 0.3f);  // the VAE's mid-block attention
  check({2, 2, 65, 70, 192, 192, true}, 610, 0.5f);
}

BOOST_AUTO_TEST_CASE(sd15_self_attention_spot_rows) {
  // 4096 tokens at head dim 40: the reference computes 96 query rows at each end.
  const int64_t heads = 8, d = 40, tokens = 4096, rows = 96;
  for (const dtype t : half_types) {
    backend& be = *gpu(t);
    tensor q16, k16, v16;
    const tensor q = random_in(t, {1, tokens, heads * d}, 700, q16, -2.0f, 2.0f);
    const tensor k = random_in(t, {1, tokens, heads * d}, 701, k16);
    const tensor v = random_in(t, {1, tokens, heads * d}, 702, v16);
    const tensor full = to_host(
        be,
        unwrap(be.attention(to_device(be, q16), to_device(be, k16), to_device(be, v16), heads), "attention"));
    for (const int64_t start : {int64_t{0}, tokens - rows}) {
      const tensor q_rows = unwrap(reference().slice(q, 1, start, rows), "slice q");
      const tensor expected = unwrap(reference().attention(q_rows, k, v, heads), "reference");
      check_product(unwrap(reference().slice(full, 1, start, rows), "slice out"), expected, t,
                    "4096 tokens, rows from " + std::to_string(start));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::cuda::test
