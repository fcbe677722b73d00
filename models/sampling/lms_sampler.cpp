#include <cmath>
#include <deque>

#include "models/sampling/detail/sampler_steps.hpp"

// Linear multistep (k_lms): x_next = x + sum_j c_j d_{i-j}, where c_j integrates the Lagrange basis
// polynomial of the last `order` noise levels from sigma_i to sigma_{i+1}. k-diffusion integrates
// numerically (scipy quad); the basis is a polynomial, so the exact integral below agrees to ~1e-12.
namespace crowdiff::models::detail {
namespace {

// Integral over [a, b] of prod_{k != j} (tau - t[i-k]) / (t[i-j] - t[i-k]), k < order.
double lms_coefficient(std::span<const double> t, size_t i, int order, int j) {
  std::vector<double> poly{1.0};  // coefficients, lowest degree first
  double denominator = 1.0;
  for (int k = 0; k < order; ++k) {
    if (k == j)
      continue;
    const double root = t[i - static_cast<size_t>(k)];
    std::vector<double> next(poly.size() + 1, 0.0);
    for (size_t p = 0; p < poly.size(); ++p) {
      next[p + 1] += poly[p];
      next[p] -= poly[p] * root;
    }
    poly = std::move(next);
    denominator *= t[i - static_cast<size_t>(j)] - root;
  }
  const double a = t[i];
  const double b = t[i + 1];
  double integral = 0.0;
  for (size_t p = 0; p < poly.size(); ++p) {
    const auto power = static_cast<double>(p + 1);
    integral += poly[p] * (std::pow(b, power) - std::pow(a, power)) / power;
  }
  return integral / denominator;
}

}  // namespace

status sample_lms(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                  const sampler_options& options, int order) {
  std::vector<float> denoised(x.size());
  std::deque<std::vector<float>> ds;  // newest last
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigmas[i], denoised));
    std::vector<float> d(x.size());
    for (size_t k = 0; k < x.size(); ++k)
      d[k] = static_cast<float>((static_cast<double>(x[k]) - denoised[k]) / sigmas[i]);
    ds.push_back(std::move(d));
    if (ds.size() > static_cast<size_t>(order))
      ds.pop_front();
    const int current = std::min(static_cast<int>(i) + 1, order);
    std::vector<double> step(x.size(), 0.0);
    for (int j = 0; j < current; ++j) {
      const double c = lms_coefficient(sigmas, i, current, j);
      const auto& dj = ds[ds.size() - 1 - static_cast<size_t>(j)];
      for (size_t k = 0; k < x.size(); ++k)
        step[k] += c * dj[k];
    }
    for (size_t k = 0; k < x.size(); ++k)
      x[k] = static_cast<float>(x[k] + step[k]);
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

}  // namespace crowdiff::models::detail
