#include <cmath>

#include "models/sampling/detail/sampler_steps.hpp"

// Euler, Heun and DPM-2 (with their ancestral variants) and LCM: samplers that step along
// d = (x - denoised) / sigma, as k_diffusion.sampling does them (s_churn = 0).
namespace crowdiff::models::detail {
namespace {

// x += (x - denoised) / sigma * dt
void euler_step(std::span<float> x, std::span<const float> denoised, double sigma, double dt) {
  const double scale = dt / sigma;
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(x[i] + (static_cast<double>(x[i]) - denoised[i]) * scale);
}

// The DPM-2 midpoint step from sigma to sigma_next (> 0): half-way in log sigma, then the full step with
// the midpoint's derivative.
status dpm_2_step(const denoise_fn& denoise, std::span<float> x, std::span<const float> denoised,
                  double sigma, double sigma_next, std::vector<float>& x_2, std::vector<float>& denoised_2) {
  const double sigma_mid = std::exp(std::log(sigma) + 0.5 * (std::log(sigma_next) - std::log(sigma)));
  const double dt_1 = sigma_mid - sigma;
  const double dt_2 = sigma_next - sigma;
  for (size_t i = 0; i < x.size(); ++i)
    x_2[i] = static_cast<float>(x[i] + (static_cast<double>(x[i]) - denoised[i]) / sigma * dt_1);
  CROWDIFF_RETURN_IF_ERROR(denoise(x_2, sigma_mid, denoised_2));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(x[i] + (static_cast<double>(x_2[i]) - denoised_2[i]) / sigma_mid * dt_2);
  return status::ok();
}

}  // namespace

void add_noise(std::span<float> x, const noise_fn& noise, double sigma, double sigma_next, double scale,
               std::vector<float>& scratch) {
  scratch.resize(x.size());
  noise(sigma, sigma_next, scratch);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(x[i] + scratch[i] * scale);
}

status sample_euler(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                    const sampler_options& options) {
  std::vector<float> denoised(x.size());
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigmas[i], denoised));
    euler_step(x, denoised, sigmas[i], sigmas[i + 1] - sigmas[i]);
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

status sample_euler_ancestral(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                              const noise_fn& noise, const sampler_options& options) {
  std::vector<float> denoised(x.size());
  std::vector<float> scratch;
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigmas[i], denoised));
    const ancestral_step step = get_ancestral_step(sigmas[i], sigmas[i + 1], options.eta);
    euler_step(x, denoised, sigmas[i], step.down - sigmas[i]);
    if (sigmas[i + 1] > 0)
      add_noise(x, noise, sigmas[i], sigmas[i + 1], options.s_noise * step.up, scratch);
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

status sample_heun(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                   const sampler_options& options) {
  std::vector<float> denoised(x.size());
  std::vector<float> x_2(x.size());
  std::vector<float> denoised_2(x.size());
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    const double sigma = sigmas[i];
    const double next = sigmas[i + 1];
    const double dt = next - sigma;
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigma, denoised));
    if (next == 0) {
      euler_step(x, denoised, sigma, dt);
    } else {
      for (size_t k = 0; k < x.size(); ++k)
        x_2[k] = static_cast<float>(x[k] + (static_cast<double>(x[k]) - denoised[k]) / sigma * dt);
      CROWDIFF_RETURN_IF_ERROR(denoise(x_2, next, denoised_2));
      for (size_t k = 0; k < x.size(); ++k) {
        const double d = (static_cast<double>(x[k]) - denoised[k]) / sigma;
        const double d_2 = (static_cast<double>(x_2[k]) - denoised_2[k]) / next;
        x[k] = static_cast<float>(x[k] + (d + d_2) / 2 * dt);
      }
    }
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

status sample_dpm_2(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                    const sampler_options& options) {
  std::vector<float> denoised(x.size());
  std::vector<float> x_2(x.size());
  std::vector<float> denoised_2(x.size());
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigmas[i], denoised));
    if (sigmas[i + 1] == 0)
      euler_step(x, denoised, sigmas[i], sigmas[i + 1] - sigmas[i]);
    else
      CROWDIFF_RETURN_IF_ERROR(dpm_2_step(denoise, x, denoised, sigmas[i], sigmas[i + 1], x_2, denoised_2));
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

status sample_dpm_2_ancestral(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                              const noise_fn& noise, const sampler_options& options) {
  std::vector<float> denoised(x.size());
  std::vector<float> x_2(x.size());
  std::vector<float> denoised_2(x.size());
  std::vector<float> scratch;
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigmas[i], denoised));
    const ancestral_step step = get_ancestral_step(sigmas[i], sigmas[i + 1], options.eta);
    if (step.down == 0) {
      euler_step(x, denoised, sigmas[i], step.down - sigmas[i]);
    } else {
      CROWDIFF_RETURN_IF_ERROR(dpm_2_step(denoise, x, denoised, sigmas[i], step.down, x_2, denoised_2));
      // k-diffusion adds noise only on this branch: the last step (down == 0) ends noise-free anyway.
      add_noise(x, noise, sigmas[i], sigmas[i + 1], options.s_noise * step.up, scratch);
    }
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

status sample_lcm(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                  const noise_fn& noise, const sampler_options& options) {
  std::vector<float> denoised(x.size());
  std::vector<float> scratch;
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigmas[i], denoised));
    std::copy(denoised.begin(), denoised.end(), x.begin());
    if (sigmas[i + 1] > 0)
      add_noise(x, noise, sigmas[i], sigmas[i + 1], sigmas[i + 1], scratch);
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

}  // namespace crowdiff::models::detail
