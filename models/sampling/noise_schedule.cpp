#include "models/sampling/noise_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace crowdiff::models {

discrete_schedule::discrete_schedule(const schedule_config& config) {
  const int n = std::max(2, config.train_steps);
  const double start = std::sqrt(config.beta_start);
  const double end = std::sqrt(config.beta_end);
  double cumprod = 1.0;
  for (int i = 0; i < n; ++i) {
    const double root = start + (end - start) * i / (n - 1);
    cumprod *= 1.0 - root * root;
    alphas_cumprod_.push_back(cumprod);
    const double sigma = std::sqrt((1.0 - cumprod) / cumprod);
    sigmas_.push_back(sigma);
    log_sigmas_.push_back(std::log(sigma));
  }
}

double discrete_schedule::sigma_to_t(double sigma, bool quantize) const {
  const double log_sigma = std::log(sigma);
  if (quantize) {
    size_t best = 0;
    for (size_t i = 1; i < log_sigmas_.size(); ++i)
      if (std::abs(log_sigmas_[i] - log_sigma) < std::abs(log_sigmas_[best] - log_sigma))
        best = i;
    return static_cast<double>(best);
  }
  // Index of the last level not above sigma, clamped so that a neighbour above exists.
  const auto upper = std::upper_bound(log_sigmas_.begin(), log_sigmas_.end(), log_sigma);
  size_t low = upper == log_sigmas_.begin() ? 0 : static_cast<size_t>(upper - log_sigmas_.begin()) - 1;
  low = std::min(low, log_sigmas_.size() - 2);
  const double w =
      std::clamp((log_sigmas_[low] - log_sigma) / (log_sigmas_[low] - log_sigmas_[low + 1]), 0.0, 1.0);
  return (1.0 - w) * static_cast<double>(low) + w * static_cast<double>(low + 1);
}

double discrete_schedule::t_to_sigma(double t) const {
  t = std::clamp(t, 0.0, static_cast<double>(log_sigmas_.size() - 1));
  const auto low = static_cast<size_t>(std::floor(t));
  const auto high = static_cast<size_t>(std::ceil(t));
  const double w = t - std::floor(t);
  return std::exp((1.0 - w) * log_sigmas_[low] + w * log_sigmas_[high]);
}

std::vector<double> make_sigmas(const discrete_schedule& schedule, sigma_schedule kind, int steps) {
  steps = std::max(1, steps);
  std::vector<double> sigmas;
  const auto t_max = static_cast<double>(schedule.sigmas().size() - 1);
  switch (kind) {
    case sigma_schedule::normal:
      for (int i = 0; i < steps; ++i) {
        const double t = steps == 1 ? t_max : t_max - t_max * i / (steps - 1);
        sigmas.push_back(schedule.t_to_sigma(t));
      }
      break;
    case sigma_schedule::karras: {
      constexpr double rho = 7.0;
      const double min_inv_rho = std::pow(schedule.sigma_min(), 1.0 / rho);
      const double max_inv_rho = std::pow(schedule.sigma_max(), 1.0 / rho);
      for (int i = 0; i < steps; ++i) {
        const double ramp = steps == 1 ? 0.0 : static_cast<double>(i) / (steps - 1);
        sigmas.push_back(std::pow(max_inv_rho + ramp * (min_inv_rho - max_inv_rho), rho));
      }
      break;
    }
    case sigma_schedule::ddim_uniform: {
      const size_t stride = std::max<size_t>(schedule.sigmas().size() / static_cast<size_t>(steps), 1);
      for (size_t x = 1; x < schedule.sigmas().size(); x += stride)
        sigmas.push_back(schedule.sigmas()[x]);
      std::reverse(sigmas.begin(), sigmas.end());
      break;
    }
  }
  sigmas.push_back(0.0);
  return sigmas;
}

std::vector<double> make_img2img_sigmas(const discrete_schedule& schedule, sigma_schedule kind, int steps,
                                        double strength) {
  steps = std::max(1, steps);
  if (!(strength < 1.0))
    return make_sigmas(schedule, kind, steps);
  strength = std::max(strength, 1e-4);
  const int total = std::max(steps, static_cast<int>(steps / strength));
  std::vector<double> full = make_sigmas(schedule, kind, total);
  const size_t keep = std::min(full.size(), static_cast<size_t>(steps) + 1);
  return std::vector<double>(full.end() - static_cast<std::ptrdiff_t>(keep), full.end());
}

void make_initial_latent(std::span<float> noise, std::span<const float> source, double sigma,
                         bool comfy_max_denoise) {
  const auto scale = static_cast<float>(comfy_max_denoise ? std::sqrt(1.0 + sigma * sigma) : sigma);
  for (size_t i = 0; i < noise.size(); ++i)
    noise[i] = noise[i] * scale + (i < source.size() ? source[i] : 0.0f);
}

}  // namespace crowdiff::models
