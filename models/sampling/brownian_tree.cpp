#include "models/sampling/brownian_tree.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "models/sampling/seed_sequence.hpp"

namespace crowdiff::models {
namespace {

constexpr size_t pool_size = 24;

// Python's round(x, 6): correctly rounded through the decimal text, as CPython does it.
double round6(double x) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6f", x);
  return std::strtod(text, nullptr);
}

}  // namespace

brownian_tree::brownian_tree(double t0, double t1, size_t size, uint64_t entropy, torch_normal_kernel kernel)
    : size_(size), entropy_(entropy), kernel_(kernel) {
  if (t1 < t0)
    std::swap(t0, t1);
  nodes_.push_back(node{round6(t0), round6(t1), -1, false});
  // The root's increment comes from the unrounded interval length.
  const uint32_t seed = seed_sequence_state(entropy_, {}, pool_size, 3)[0];
  root_w_ = torch_rng(seed, kernel_).randn(size_);
  const auto scale = static_cast<float>(std::sqrt(t1 - t0));
  for (float& w : root_w_)
    w *= scale;
}

void brownian_tree::ensure_split(int index) {
  if (nodes_[static_cast<size_t>(index)].split)
    return;
  node& n = nodes_[static_cast<size_t>(index)];
  const double midway = round6(0.5 * (n.end + n.start));
  n.split = true;
  n.midway = midway;
  if (n.parent >= 0) {
    const node& p = nodes_[static_cast<size_t>(n.parent)];
    n.spawn_key = 2 * p.spawn_key + (n.is_left ? 0 : 1);
    n.depth = p.depth + 1;
  }
  n.w_seed = seed_sequence_state(entropy_, {n.spawn_key, n.depth}, pool_size, 4)[0];
  const double start = n.start;
  const double end = n.end;
  n.left = static_cast<int>(nodes_.size());
  n.right = n.left + 1;
  // `n` may dangle after these push_backs.
  nodes_.push_back(node{start, midway, index, true});
  nodes_.push_back(node{midway, end, index, false});
}

void brownian_tree::decompose(int index, double ta, double tb, std::vector<int>& out) {
  if (ta == nodes_[static_cast<size_t>(index)].start && tb == nodes_[static_cast<size_t>(index)].end) {
    out.push_back(index);
    return;
  }
  ensure_split(index);
  const node& n = nodes_[static_cast<size_t>(index)];
  const double mid = n.midway;
  const int left = n.left;
  const int right = n.right;
  if (tb <= mid) {
    decompose(left, ta, tb, out);
  } else if (ta >= mid) {
    decompose(right, ta, tb, out);
  } else {
    decompose(left, ta, mid, out);
    decompose(right, mid, tb, out);
  }
}

const std::vector<float>& brownian_tree::increment_of(int index,
                                                      std::unordered_map<int, std::vector<float>>& cache) {
  if (index == 0)
    return root_w_;
  if (const auto it = cache.find(index); it != cache.end())
    return it->second;
  const node child = nodes_[static_cast<size_t>(index)];
  const node parent = nodes_[static_cast<size_t>(child.parent)];
  const std::vector<float>& w = increment_of(child.parent, cache);
  // The Brownian bridge: given W over the parent, its left part is N(W * l / h, l * r / h).
  const double h_reciprocal = 1.0 / (parent.end - parent.start);
  const double left_diff = parent.midway - parent.start;
  const double right_diff = parent.end - parent.midway;
  const auto left_f = static_cast<float>(left_diff);
  const auto h_f = static_cast<float>(h_reciprocal);
  const auto sd_f = static_cast<float>(std::sqrt(left_diff * right_diff * h_reciprocal));
  std::vector<float> out = torch_rng(parent.w_seed, kernel_).randn(size_);
  for (size_t i = 0; i < size_; ++i) {
    const float mean = (w[i] * left_f) * h_f;
    const float left_w = mean + out[i] * sd_f;
    out[i] = child.is_left ? left_w : w[i] - left_w;
  }
  return cache.emplace(index, std::move(out)).first->second;
}

void brownian_tree::increment(double ta, double tb, std::span<float> out) {
  const node& root = nodes_.front();
  ta = std::clamp(ta, root.start, root.end);
  tb = std::clamp(tb, root.start, root.end);
  std::fill(out.begin(), out.end(), 0.0f);
  ta = round6(ta);
  tb = round6(tb);
  if (!(ta < tb))
    return;
  std::vector<int> pieces;
  decompose(0, ta, tb, pieces);
  // Increments of the pieces are computed once per query; a piece's ancestors are shared, so they stay cached
  // for the query (torchsde keeps an LRU of 45 intervals, which changes speed, not values).
  std::unordered_map<int, std::vector<float>> cache;
  for (int piece : pieces) {
    const std::vector<float>& w = increment_of(piece, cache);
    for (size_t i = 0; i < out.size(); ++i)
      out[i] += w[i];
  }
}

noise_fn brownian_tree_noise(double sigma_min, double sigma_max, size_t size, uint64_t seed,
                             torch_normal_kernel kernel) {
  // k-diffusion passes float32 tensors; the tree sees their exact values.
  auto tree = std::make_shared<brownian_tree>(static_cast<float>(sigma_min), static_cast<float>(sigma_max),
                                              size, seed, kernel);
  return [tree](double sigma, double sigma_next, std::span<float> out) {
    const auto a = static_cast<float>(sigma);
    const auto b = static_cast<float>(sigma_next);
    tree->increment(std::min(a, b), std::max(a, b), out);
    // W is queried forwards in time; the sampler walks sigma downwards, hence the sign.
    const float sign = a > b ? -1.0f : 1.0f;
    const float scale = std::sqrt(std::abs(b - a));
    for (float& v : out)
      v = (v * sign) / scale;
  };
}

}  // namespace crowdiff::models
