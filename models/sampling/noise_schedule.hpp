#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "models/weights/model_config.hpp"

namespace crowdiff::models {

/// The discrete noise levels a Stable Diffusion UNet was trained on: betas from `scaled_linear`
/// (linspace(sqrt(beta_start), sqrt(beta_end), train_steps)^2), alphas_cumprod, and
/// sigma_t = sqrt((1 - alphas_cumprod_t) / alphas_cumprod_t), ascending (t = 0 is the least noise). This is
/// k-diffusion's CompVisDenoiser and ComfyUI's ModelSamplingDiscrete.
class discrete_schedule {
 public:
  explicit discrete_schedule(const schedule_config& config = {});

  const std::vector<double>& sigmas() const { return sigmas_; }
  const std::vector<double>& alphas_cumprod() const { return alphas_cumprod_; }
  double sigma_min() const { return sigmas_.front(); }
  double sigma_max() const { return sigmas_.back(); }

  /// The (fractional) timestep for `sigma`: linear interpolation in log sigma between the two neighbouring
  /// training levels (k-diffusion, quantize=False), or the nearest one (quantize=True, ComfyUI and A1111's
  /// default). The UNet is conditioned on this value.
  double sigma_to_t(double sigma, bool quantize) const;
  /// sigma at fractional timestep t in [0, train_steps - 1], interpolating log sigma.
  double t_to_sigma(double t) const;

 private:
  std::vector<double> alphas_cumprod_;
  std::vector<double> sigmas_;
  std::vector<double> log_sigmas_;
};

/// How the sampling noise levels are spaced. Persisted in job records: never renumber.
enum class sigma_schedule : uint8_t {
  normal = 0,        ///< Evenly spaced timesteps 999..0 (k-diffusion get_sigmas, ComfyUI "normal").
  karras = 1,        ///< Karras et al. (2022), rho = 7, between the schedule's sigma_min and sigma_max.
  ddim_uniform = 2,  ///< Every (1000 / steps)-th training level (ComfyUI "ddim_uniform").
};

/// `steps` + 1 decreasing noise levels ending in 0 for a full (txt2img) run. steps >= 1.
std::vector<double> make_sigmas(const discrete_schedule& schedule, sigma_schedule kind, int steps);

/// The noise levels of an img2img run with denoising strength in (0, 1]: ComfyUI's rule, the last
/// steps + 1 levels of a schedule made for int(steps / strength) steps, so the run starts part-way down.
std::vector<double> make_img2img_sigmas(const discrete_schedule& schedule, sigma_schedule kind, int steps,
                                        double strength);

/// The starting latent: source + noise * sigma (img2img; source may be empty for zeros), or for a full
/// txt2img run in ComfyUI's convention noise * sqrt(1 + sigma^2) (`comfy_max_denoise`); k-diffusion and A1111
/// use noise * sigma. Writes into `noise`.
void make_initial_latent(std::span<float> noise, std::span<const float> source, double sigma,
                         bool comfy_max_denoise);

}  // namespace crowdiff::models
