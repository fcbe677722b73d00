#include "workloads.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>

#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/status_macros.hpp"

namespace crowdiff::bench {

std::vector<attention_shape> attention_shapes() {
  return {
      {"sd15 64x64 self", 2, 8, 4096, 4096, 40},  {"sd15 64x64 cross", 2, 8, 4096, 77, 40},
      {"sd15 32x32 self", 2, 8, 1024, 1024, 80},  {"sd15 32x32 cross", 2, 8, 1024, 77, 80},
      {"sd15 16x16 self", 2, 8, 256, 256, 160},   {"sd15 16x16 cross", 2, 8, 256, 77, 160},
      {"sdxl 64x64 self", 2, 10, 4096, 4096, 64}, {"sdxl 32x32 self", 2, 20, 1024, 1024, 64},
      {"sd15 96x96 self", 2, 8, 9216, 9216, 40},  {"head 128, 4096", 2, 8, 4096, 4096, 128},
  };
}

result<double> median_seconds(kernels::backend& be, int calls, int repeats,
                              const std::function<status()>& fn) {
  for (int i = 0; i < 3; ++i)
    CROWDIFF_RETURN_IF_ERROR(fn());  // warm-up: plans, module loading, the arena
  CROWDIFF_RETURN_IF_ERROR(kernels::cuda_synchronize(be));
  std::vector<double> rounds;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i)
      CROWDIFF_RETURN_IF_ERROR(fn());
    CROWDIFF_RETURN_IF_ERROR(kernels::cuda_synchronize(be));
    rounds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / calls);
  }
  std::nth_element(rounds.begin(), rounds.begin() + repeats / 2, rounds.end());
  return rounds[static_cast<size_t>(repeats / 2)];
}

namespace {

result<kernels::tensor> random_device(kernels::backend& be, const kernels::shape& s, uint64_t seed) {
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor host, kernels::tensor::host(s, kernels::dtype::f32));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t i = 0; i < s.numel(); ++i)
    host.mutable_data_as<float>()[i] = dist(rng);
  return be.upload(host);
}

}  // namespace

result<double> time_attention(kernels::backend& be, const attention_shape& a) {
  CROWDIFF_ASSIGN_OR_RETURN(const kernels::tensor q,
                            random_device(be, {a.batch, a.lq, a.heads * a.head_dim}, 1));
  CROWDIFF_ASSIGN_OR_RETURN(const kernels::tensor k,
                            random_device(be, {a.batch, a.lk, a.heads * a.head_dim}, 2));
  CROWDIFF_ASSIGN_OR_RETURN(const kernels::tensor v,
                            random_device(be, {a.batch, a.lk, a.heads * a.head_dim}, 3));
  CROWDIFF_ASSIGN_OR_RETURN(const kernels::tensor out, be.empty({a.batch, a.lq, a.heads * a.head_dim}));
  // About 20 ms per round whatever the shape (at ~200 TFLOP/s), at least 3 calls.
  const int calls = std::max(3, static_cast<int>(4e12 / a.flops()));
  return median_seconds(be, calls, 5, [&] { return be.attention(q, k, v, a.heads, {}, out).to_status(); });
}

}  // namespace crowdiff::bench
