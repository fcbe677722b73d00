// The fused attention kernel (kernels/cuda/detail/attention/flash_kernel.cuh) run by the host emulation of
// its warps and tensor-core instructions, against the reference: odd lengths, 77-key cross-attention,
// causal, every head-dim bucket, unequal q/v head dims, the scalar (unaligned) load path, f16 and bf16.

#include <boost/test/unit_test.hpp>

#include "cuda_test_util.hpp"
#include "emulation/emulator.hpp"
#include "kernels/cuda/detail/attention/flash_kernel.cuh"
#include "kernels/cuda/detail/attention/flash_switch.hpp"

namespace crowdiff::kernels::cuda::test {
namespace {

struct attention_case {
  int64_t batch, heads, lq, lk, d, dv;
  bool causal;
};

std::string describe(const attention_case& a) {
  return "b=" + std::to_string(a.batch) + " h=" + std::to_string(a.heads) + " lq=" + std::to_string(a.lq) +
         " lk=" + std::to_string(a.lk) + " d=" + std::to_string(a.d) + " dv=" + std::to_string(a.dv) +
         (a.causal ? " causal" : "");
}

// Runs the kernel as the launcher would (same bucket, same grid) on host memory.
tensor emulated_flash(const tensor& q, const tensor& k, const tensor& v, const attention_case& a, dtype t) {
  tensor out = unwrap(tensor::host({a.batch, a.lq, a.heads * a.dv}, t), "out");
  flash_params p;
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.out = out.mutable_data();
  p.q_row_stride = p.k_row_stride = a.heads * a.d;
  p.v_row_stride = p.out_row_stride = a.heads * a.dv;
  p.q_batch_stride = a.lq * p.q_row_stride;
  p.k_batch_stride = a.lk * p.k_row_stride;
  p.v_batch_stride = a.lk * p.v_row_stride;
  p.out_batch_stride = a.lq * p.out_row_stride;
  p.batch = static_cast<int>(a.batch);
  p.heads = static_cast<int>(a.heads);
  p.lq = static_cast<int>(a.lq);
  p.lk = static_cast<int>(a.lk);
  p.d = static_cast<int>(a.d);
  p.dv = static_cast<int>(a.dv);
  p.scale_log2 = 1.4426950408889634f / std::sqrt(static_cast<float>(a.d));
  p.causal = a.causal;
  p.vector_loads = a.d % 8 == 0 && a.dv % 8 == 0;  // host tensors are 64-byte aligned
  p.pair_stores = a.dv % 2 == 0;
  switch_half_type(t == dtype::bf16, [&]<class T>() {
    switch_head_dim(static_cast<int>(std::max(a.d, a.dv)), [&]<int Dp>() {
      emu::launch(flash_dims<Dp>(p), [&] { flash_forward_kernel<T, Dp>(p); });
    });
  });
  return out;
}

void check(const attention_case& a, uint64_t seed, float spread) {
  for (const dtype t : half_types) {
    tensor q16, k16, v16;
    const tensor q = random_in(t, {a.batch, a.lq, a.heads * a.d}, seed, q16, -spread, spread);
    const tensor k = random_in(t, {a.batch, a.lk, a.heads * a.d}, seed + 1, k16, -1.5f, 1.5f);
    const tensor v = random_in(t, {a.batch, a.lk, a.heads * a.dv}, seed + 2, v16);
    const tensor expected =
        unwrap(reference().attention(q, k, v, a.heads, {0.0f, a.causal}), "reference attention");
    check_product(emulated_flash(q16, k16, v16, a, t), expected, t, describe(a));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(emulated_flash_attention)

BOOST_AUTO_TEST_CASE(head_dim_buckets_and_awkward_lengths) {
  const attention_case cases[] = {
      {1, 2, 97, 77, 40, 40, false},   // SD 1.5 cross-attention: 77 keys, odd query count, head dim 40 -> 48
      {2, 1, 70, 130, 64, 64, false},  // two key tiles and a partial third
      {1, 1, 65, 33, 80, 80, false},  {1, 1, 33, 64, 128, 128, false}, {1, 1, 20, 77, 160, 160, false},
  };
  uint64_t seed = 100;
  for (const attention_case& a : cases) {
    check(a, seed += 10, 1.0f);
    check(a, seed += 10, 6.0f);  // a peaked softmax: the running maximum changes between tiles
  }
}

BOOST_AUTO_TEST_CASE(causal_and_unequal_head_dims) {
  check({1, 2, 77, 77, 64, 64, true}, 300, 2.0f);  // CLIP's text encoder
  check({1, 1, 130, 129, 40, 40, true}, 310, 2.0f);
  check({1, 2, 17, 19, 24, 40, false}, 320, 1.0f);
}

BOOST_AUTO_TEST_CASE(odd_and_tiny_head_dims) {
  check({1, 1, 20, 21, 33, 17, false}, 400, 1.0f);
  check({2, 3, 5, 3, 8, 8, false}, 410, 1.0f);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::cuda::test
