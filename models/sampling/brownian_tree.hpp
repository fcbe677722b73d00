#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "models/sampling/samplers.hpp"
#include "models/sampling/torch_rng.hpp"

namespace crowdiff::models {

/// torchsde's BrownianTree (a BrownianInterval with halfway_tree=True, tol=1e-6, pool_size=24, no Levy
/// area) over [t0, t1] for a Brownian motion of `size` independent float32 components, as k-diffusion's
/// BrownianTreeNoiseSampler builds it. Times are rounded to 6 decimals; [t0, t1] is bisected at rounded
/// midpoints; each split node draws torch.randn(size) from a CPU generator seeded with numpy
/// SeedSequence(entropy, spawn_key=(path, depth), pool_size=24), and a child's increment is the Brownian
/// bridge sample from its parent's, in float32 as torch computes it. The tree is a pure function of
/// `entropy`: query order does not matter.
class brownian_tree {
 public:
  brownian_tree(double t0, double t1, size_t size, uint64_t entropy,
                torch_normal_kernel kernel = torch_normal_kernel::avx2);

  /// W(tb) - W(ta) into `out` (size elements) for ta <= tb, clamped to [t0, t1] as torchsde does.
  void increment(double ta, double tb, std::span<float> out);

 private:
  struct node {
    double start;
    double end;
    int parent;
    bool is_left;
    bool split = false;
    double midway = 0;
    int left = -1;
    int right = -1;
    uint64_t spawn_key = 0;
    uint64_t depth = 0;
    uint32_t w_seed = 0;
  };

  void ensure_split(int index);
  void decompose(int index, double ta, double tb, std::vector<int>& out);
  const std::vector<float>& increment_of(int index, std::unordered_map<int, std::vector<float>>& cache);

  size_t size_;
  uint64_t entropy_;
  torch_normal_kernel kernel_;
  std::vector<node> nodes_;
  std::vector<float> root_w_;
};

/// k-diffusion's BrownianTreeNoiseSampler(x, sigma_min, sigma_max, seed) for k_dpmpp_sde, as ComfyUI (and
/// so the AI Horde worker) runs it with cpu=True: unit-variance noise -W(sigma_next, sigma) /
/// sqrt(|sigma_next - sigma|). sigma_min is the smallest nonzero level of the schedule.
noise_fn brownian_tree_noise(double sigma_min, double sigma_max, size_t size, uint64_t seed,
                             torch_normal_kernel kernel = torch_normal_kernel::avx2);

}  // namespace crowdiff::models
