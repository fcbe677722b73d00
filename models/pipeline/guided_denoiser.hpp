#pragma once

#include <atomic>
#include <cstdint>

#include "kernels/tensor.hpp"
#include "models/pipeline/stable_diffusion.hpp"
#include "models/sampling/samplers.hpp"

namespace crowdiff::models {

/// The latent a denoiser works on: one image, [channels, height, width].
struct latent_shape {
  int64_t channels = 4;
  int64_t height = 0;
  int64_t width = 0;
  int64_t numel() const { return channels * height * width; }
};

/// The model as the samplers see it (a denoise_fn): the UNet on x * c_in(sigma) at timestep
/// sigma_to_t(sigma) (nearest training level when `quantize_timesteps`, as ComfyUI; interpolated otherwise,
/// as k-diffusion), its eps or v output turned into a denoised estimate, and with a [2, L, D] `context`
/// (prompt, negative) both evaluated in one batch of two and combined as
/// uncond + cfg_scale * (cond - uncond). A [1, L, D] context runs the prompt alone (no guidance).
///
/// Each call first checks `cancelled` (may be null) and returns errc::cancelled when it is set. The model
/// and context must outlive the function.
denoise_fn make_guided_denoiser(const stable_diffusion& model, kernels::tensor context, double cfg_scale,
                                latent_shape shape, bool quantize_timesteps,
                                const std::atomic<bool>* cancelled = nullptr);

}  // namespace crowdiff::models
