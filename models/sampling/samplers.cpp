#include "models/sampling/samplers.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "models/sampling/brownian_tree.hpp"
#include "models/sampling/detail/sampler_steps.hpp"

namespace crowdiff::models {

result<sampler_kind> sampler_from_horde_name(std::string_view name) {
  if (const auto* s = find_sampler(name))
    return s->kind;
  for (auto not_run : horde_samplers_not_run)
    if (name == not_run)
      return status{errc::unsupported, "crowdiff does not run sampler " + std::string(name)};
  return status{errc::invalid_argument, "unknown sampler " + std::string(name)};
}

std::string_view horde_name(sampler_kind kind) {
  return sampler_of(kind).horde_name;
}

bool is_stochastic(sampler_kind kind) {
  return sampler_of(kind).stochastic;
}

status sample(sampler_kind kind, const denoise_fn& denoise, std::span<float> x,
              std::span<const double> sigmas, const noise_fn& noise, const sampler_options& options) {
  if (sigmas.size() < 2)
    return status{errc::invalid_argument, "a schedule needs at least two noise levels"};
  for (size_t i = 0; i < sigmas.size(); ++i) {
    if (!std::isfinite(sigmas[i]) || sigmas[i] < 0 || (i + 1 < sigmas.size() && sigmas[i] <= 0))
      return status{errc::invalid_argument, "noise levels must be finite and positive, except the last"};
  }
  if (!denoise)
    return status{errc::invalid_argument, "no denoiser"};
  if (is_stochastic(kind) && !noise)
    return status{errc::invalid_argument, std::string(horde_name(kind)) + " needs a noise source"};
  switch (kind) {
    case sampler_kind::euler:
    case sampler_kind::ddim:
      return detail::sample_euler(denoise, x, sigmas, options);
    case sampler_kind::euler_a:
      return detail::sample_euler_ancestral(denoise, x, sigmas, noise, options);
    case sampler_kind::heun:
      return detail::sample_heun(denoise, x, sigmas, options);
    case sampler_kind::dpm_2:
      return detail::sample_dpm_2(denoise, x, sigmas, options);
    case sampler_kind::dpm_2_a:
      return detail::sample_dpm_2_ancestral(denoise, x, sigmas, noise, options);
    case sampler_kind::lms:
      return detail::sample_lms(denoise, x, sigmas, options);
    case sampler_kind::dpmpp_2m:
      return detail::sample_dpmpp_2m(denoise, x, sigmas, options);
    case sampler_kind::dpmpp_2s_a:
      return detail::sample_dpmpp_2s_ancestral(denoise, x, sigmas, noise, options);
    case sampler_kind::dpmpp_sde:
      return detail::sample_dpmpp_sde(denoise, x, sigmas, noise, options);
    case sampler_kind::lcm:
      return detail::sample_lcm(denoise, x, sigmas, noise, options);
  }
  return status{errc::invalid_argument, "unknown sampler kind"};
}

noise_fn torch_noise(uint64_t seed, torch_normal_kernel kernel) {
  auto rng = std::make_shared<torch_rng>(seed, kernel);
  return [rng](double, double, std::span<float> out) { rng->randn(out); };
}

noise_fn comfyui_noise(sampler_kind kind, std::span<const double> sigmas, size_t size, uint64_t seed,
                       torch_normal_kernel kernel) {
  if (kind != sampler_kind::dpmpp_sde || sigmas.empty())
    return torch_noise(seed, kernel);
  double sigma_min = sigmas.front();
  double sigma_max = sigmas.front();
  for (double sigma : sigmas) {
    if (sigma > 0)
      sigma_min = std::min(sigma_min, sigma);
    sigma_max = std::max(sigma_max, sigma);
  }
  return brownian_tree_noise(sigma_min, sigma_max, size, seed, kernel);
}

}  // namespace crowdiff::models
