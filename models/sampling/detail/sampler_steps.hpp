#pragma once

#include <cmath>
#include <span>
#include <vector>

#include "models/sampling/samplers.hpp"

// The sampler bodies, one family per .cpp; samplers.cpp validates the arguments and dispatches.
namespace crowdiff::models::detail {

/// k-diffusion's get_ancestral_step: the level to step down to and the noise to add to reach sigma_to.
struct ancestral_step {
  double down;
  double up;
};
inline ancestral_step get_ancestral_step(double sigma_from, double sigma_to, double eta) {
  if (eta == 0.0)
    return {sigma_to, 0.0};
  const double up = std::min(
      sigma_to, eta * std::sqrt(sigma_to * sigma_to * (sigma_from * sigma_from - sigma_to * sigma_to) /
                                (sigma_from * sigma_from)));
  return {std::sqrt(sigma_to * sigma_to - up * up), up};
}

/// Tells the options' observer (if any) that step `index` (0-based) of a schedule of `sigmas` is done.
inline status step_done(const sampler_options& options, size_t index, std::span<const double> sigmas) {
  return options.on_step ? options.on_step(index + 1, sigmas.size() - 1) : status::ok();
}

/// x += scale * noise(sigma, sigma_next), with scratch space for the draw.
void add_noise(std::span<float> x, const noise_fn& noise, double sigma, double sigma_next, double scale,
               std::vector<float>& scratch);

status sample_euler(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                    const sampler_options& options);
status sample_euler_ancestral(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                              const noise_fn& noise, const sampler_options& options);
status sample_heun(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                   const sampler_options& options);
status sample_dpm_2(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                    const sampler_options& options);
status sample_dpm_2_ancestral(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                              const noise_fn& noise, const sampler_options& options);
status sample_lcm(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                  const noise_fn& noise, const sampler_options& options);
status sample_lms(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                  const sampler_options& options, int order = 4);
status sample_dpmpp_2m(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                       const sampler_options& options);
status sample_dpmpp_2s_ancestral(const denoise_fn& denoise, std::span<float> x,
                                 std::span<const double> sigmas, const noise_fn& noise,
                                 const sampler_options& options);
status sample_dpmpp_sde(const denoise_fn& denoise, std::span<float> x, std::span<const double> sigmas,
                        const noise_fn& noise, const sampler_options& options);

}  // namespace crowdiff::models::detail
