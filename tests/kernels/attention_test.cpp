// Fused attention against the reference (which materializes the score rows) on awkward shapes: odd
// lengths, 77-key cross-attention, causal self-attention, head dims 40..160 and the VAE's single 512 head.

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

namespace crowdiff::kernels::test {
namespace {

struct attention_case {
  int64_t batch, heads, lq, lk, head_dim, head_dim_v;
  bool causal;
};

std::string describe(const attention_case& a) {
  return "attention b=" + std::to_string(a.batch) + " h=" + std::to_string(a.heads) +
         " lq=" + std::to_string(a.lq) + " lk=" + std::to_string(a.lk) + " d=" + std::to_string(a.head_dim) +
         " dv=" + std::to_string(a.head_dim_v) + (a.causal ? " causal" : "");
}

void check_attention(const attention_case& a, uint64_t seed, float spread) {
  // `spread` scales q so that the softmax is flat (small) or peaked (large).
  const tensor q = random_tensor({a.batch, a.lq, a.heads * a.head_dim}, seed, -spread, spread);
  const tensor k = random_tensor({a.batch, a.lk, a.heads * a.head_dim}, seed + 1, -1.5f, 1.5f);
  const tensor v = random_tensor({a.batch, a.lk, a.heads * a.head_dim_v}, seed + 2);
  const attention_options options{0.0f, a.causal};
  const tensor expected = unwrap(reference().attention(q, k, v, a.heads, options), "reference");
  const tensor low = unwrap(
      reference().attention(rounded_to_bf16(q), rounded_to_bf16(k), rounded_to_bf16(v), a.heads, options),
      "low");
  for (const backend_case& c : optimized_backends())
    check_product(c, unwrap(c.be->attention(q, k, v, a.heads, options), "attention"), expected, low,
                  describe(a));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_ops)

BOOST_AUTO_TEST_CASE(self_and_cross_attention) {
  const attention_case cases[] = {
      {1, 2, 97, 97, 40, 40, false},      {2, 2, 77, 77, 64, 64, true},    {1, 3, 200, 77, 80, 80, false},
      {1, 1, 130, 1025, 128, 128, false}, {1, 2, 65, 33, 160, 160, false}, {1, 1, 70, 130, 512, 512, false},
      {2, 1, 1, 1, 8, 8, false},          {1, 2, 33, 47, 24, 40, false},   {1, 1, 129, 129, 33, 17, true},
  };
  uint64_t seed = 3000;
  for (const attention_case& a : cases) {
    check_attention(a, seed += 10, 1.0f);
    check_attention(a, seed += 10, 6.0f);
  }
}

BOOST_AUTO_TEST_CASE(long_self_attention_spot_rows) {
  // SD 1.5's largest self-attention: 4096 tokens, head dim 40. The reference only computes a slice of the
  // query rows (rows are independent), keeping this test fast.
  const int64_t heads = 2, d = 40, tokens = 4096, rows = 96;
  const tensor q = random_tensor({1, tokens, heads * d}, 41, -2.0f, 2.0f);
  const tensor k = random_tensor({1, tokens, heads * d}, 42);
  const tensor v = random_tensor({1, tokens, heads * d}, 43);
  for (const backend_case& c : optimized_backends()) {
    const tensor full = unwrap(c.be->attention(q, k, v, heads), "attention");
    for (int64_t start : {int64_t{0}, tokens - rows}) {
      const tensor q_rows = unwrap(reference().slice(q, 1, start, rows), "slice q");
      const tensor expected = unwrap(reference().attention(q_rows, k, v, heads), "reference");
      const tensor low = unwrap(
          reference().attention(rounded_to_bf16(q_rows), rounded_to_bf16(k), rounded_to_bf16(v), heads),
          "low");
      const tensor actual = unwrap(c.be->slice(full, 1, start, rows), "slice out");
      check_product(c, actual, expected, low, "4096 tokens, rows from " + std::to_string(start));
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_bad_heads) {
  const tensor q = random_tensor({1, 5, 12}, 1), k = random_tensor({1, 7, 12}, 2),
               v = random_tensor({1, 7, 12}, 3);
  for (backend* be : {&reference(), &cpu_f32()}) {
    BOOST_TEST(be->attention(q, k, v, 5).error().code() == errc::invalid_argument);
    BOOST_TEST(be->attention(q, k, random_tensor({1, 6, 12}, 4), 3).error().code() == errc::invalid_argument);
    BOOST_TEST(be->attention(q, random_tensor({1, 7, 8}, 5), v, 2).error().code() == errc::invalid_argument);
    BOOST_TEST(be->attention(q, k, v, 3).has_value());
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
