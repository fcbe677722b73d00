#include <cmath>

#include "models/sampling/detail/sampler_steps.hpp"

// DPM-Solver++ samplers (Lu et al. 2022) in k-diffusion's formulation: time t = -log(sigma), steps of
// size h = t_next - t, and x_next = (sigma_next / sigma) x - expm1(-h) * denoised_estimate.
namespace crowdiff::models::detail {
namespace {

double t_of(double sigma) {
  return -std::log(sigma);
}
double sigma_of(double t) {
  return std::exp(-t);
}

// x = ratio * x - coefficient * estimate
void dpm_update(std::span<float> out, std::span<const float> x, double ratio, double coefficient,
                std::span<const float> estimate) {
  for (size_t i = 0; i < x.size(); ++i)
    out[i] = static_cast<float>(ratio * x[i] - coefficient * estimate[i]);
}

void euler_to(std::span<float> x, std::span<const float> denoised, double sigma, double sigma_next) {
  for (size_t i = 0; i < x.size(); ++i)
    x[i] =
        static_cast<float>(x[i] + (static_cast<double>(x[i]) - denoised[i]) / sigma * (sigma_next - sigma));
}

}  // namespace

status sample_dpmpp_2m(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                       const sampler_options& options) {
  std::vector<float> denoised(x.size());
  std::vector<float> old_denoised(x.size());
  std::vector<float> blended(x.size());
  bool have_old = false;
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigmas[i], denoised));
    const double t = t_of(sigmas[i]);
    if (sigmas[i + 1] == 0) {
      // sigma_next / sigma = 0 and -expm1(-inf) = 1: the first-order step lands on the estimate.
      std::copy(denoised.begin(), denoised.end(), x.begin());
    } else {
      const double t_next = t_of(sigmas[i + 1]);
      const double h = t_next - t;
      const double ratio = sigmas[i + 1] / sigmas[i];
      if (!have_old) {
        dpm_update(x, x, ratio, std::expm1(-h), denoised);
      } else {
        const double h_last = t - t_of(sigmas[i - 1]);
        const double r = h_last / h;
        const double a = 1 + 1 / (2 * r);
        const double b = 1 / (2 * r);
        for (size_t k = 0; k < x.size(); ++k)
          blended[k] = static_cast<float>(a * denoised[k] - b * old_denoised[k]);
        dpm_update(x, x, ratio, std::expm1(-h), blended);
      }
    }
    std::swap(old_denoised, denoised);
    have_old = true;
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

status sample_dpmpp_2s_ancestral(const denoise_fn& denoise, std::span<float> x,
                                 std::span<const double> sigmas, const noise_fn& noise,
                                 const sampler_options& options) {
  std::vector<float> denoised(x.size());
  std::vector<float> x_2(x.size());
  std::vector<float> denoised_2(x.size());
  std::vector<float> scratch;
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigmas[i], denoised));
    const ancestral_step step = get_ancestral_step(sigmas[i], sigmas[i + 1], options.eta);
    if (step.down == 0) {
      euler_to(x, denoised, sigmas[i], step.down);
    } else {
      const double t = t_of(sigmas[i]);
      const double t_next = t_of(step.down);
      const double h = t_next - t;
      const double s = t + 0.5 * h;
      dpm_update(x_2, x, sigma_of(s) / sigma_of(t), std::expm1(-h * 0.5), denoised);
      CROWDIFF_RETURN_IF_ERROR(denoise(x_2, sigma_of(s), denoised_2));
      dpm_update(x, x, sigma_of(t_next) / sigma_of(t), std::expm1(-h), denoised_2);
    }
    if (sigmas[i + 1] > 0)
      add_noise(x, noise, sigmas[i], sigmas[i + 1], options.s_noise * step.up, scratch);
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

status sample_dpmpp_sde(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                        const noise_fn& noise, const sampler_options& options) {
  constexpr double r = 0.5;
  std::vector<float> denoised(x.size());
  std::vector<float> x_2(x.size());
  std::vector<float> denoised_2(x.size());
  std::vector<float> scratch;
  for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
    CROWDIFF_RETURN_IF_ERROR(denoise(x, sigmas[i], denoised));
    if (sigmas[i + 1] == 0) {
      euler_to(x, denoised, sigmas[i], sigmas[i + 1]);
      CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
      continue;
    }
    const double t = t_of(sigmas[i]);
    const double t_next = t_of(sigmas[i + 1]);
    const double h = t_next - t;
    const double s = t + h * r;
    const double fac = 1 / (2 * r);
    // The noise is queried at the noise levels k-diffusion computes in float32 (t = -log sigma, the
    // midpoint s, back through exp): a Brownian tree rounds query times to 6 decimals, so the float32
    // values, not the exact ones, decide which tree nodes answer.
    const auto t_f = -std::log(static_cast<float>(sigmas[i]));
    const auto t_next_f = -std::log(static_cast<float>(sigmas[i + 1]));
    const float s_f = t_f + (t_next_f - t_f) * static_cast<float>(r);
    const double query_t = std::exp(-t_f);
    const double query_s = std::exp(-s_f);
    const double query_next = std::exp(-t_next_f);

    // Step 1: an ancestral half step to sigma(s).
    const ancestral_step first = get_ancestral_step(sigma_of(t), sigma_of(s), options.eta);
    const double s_ = t_of(first.down);
    dpm_update(x_2, x, sigma_of(s_) / sigma_of(t), std::expm1(t - s_), denoised);
    add_noise(x_2, noise, query_t, query_s, options.s_noise * first.up, scratch);
    CROWDIFF_RETURN_IF_ERROR(denoise(x_2, sigma_of(s), denoised_2));

    // Step 2: the full step with the blended estimate.
    const ancestral_step second = get_ancestral_step(sigma_of(t), sigma_of(t_next), options.eta);
    const double t_next_ = t_of(second.down);
    for (size_t k = 0; k < x.size(); ++k)
      denoised_2[k] = static_cast<float>((1 - fac) * denoised[k] + fac * denoised_2[k]);
    dpm_update(x, x, sigma_of(t_next_) / sigma_of(t), std::expm1(t - t_next_), denoised_2);
    add_noise(x, noise, query_t, query_next, options.s_noise * second.up, scratch);
    CROWDIFF_RETURN_IF_ERROR(step_done(options, i, sigmas));
  }
  return status::ok();
}

}  // namespace crowdiff::models::detail
