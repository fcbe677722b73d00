#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/sampling/noise_schedule.hpp"
#include "models/text/clip_text_encoder.hpp"
#include "models/text/clip_tokenizer.hpp"
#include "models/unet/unet_model.hpp"
#include "models/vae/vae_decoder.hpp"
#include "models/vae/vae_encoder.hpp"
#include "models/weights/model_weights.hpp"

namespace crowdiff::models {

struct model_load_options {
  load_options weights;     ///< Prediction type override, a config folder for single files, limits.
  bool vae_encoder = true;  ///< Load the VAE encoder (needed for img2img only).
  int text_layers = 0;      ///< Text encoder layers to load; 0: those the model conditions on.
};

/// One Stable Diffusion model (1.x or 2.x) ready to run on a backend: its tokenizer, text encoder, UNet, VAE
/// and noise schedule, every weight prepared once. The checkpoint stays mapped (weights the backend uses as
/// stored are read from the map); after loading, its pages are released from the resident set, so a
/// checkpoint converted at load is not held in memory twice.
///
/// Not thread-safe (the backend is not): one generation at a time. The backend must outlive the model.
class stable_diffusion {
 public:
  /// Opens `path` (a diffusers folder or a single .safetensors file) and loads it onto `be`. Errors: those
  /// of model_weights::open (missing files, pickles refused, SDXL and other architectures unsupported),
  /// unsupported for UNets that take more than the latent (inpainting, depth), those of
  /// the blocks (a missing or mis-shaped tensor, named) and of the tokenizer files.
  static result<std::unique_ptr<stable_diffusion>> load(const std::filesystem::path& path,
                                                        kernels::backend& be,
                                                        const model_load_options& options = {});

  const model_config& config() const { return weights_.config(); }
  const model_weights& weights() const { return weights_; }
  kernels::backend& backend() const { return backend_; }
  const clip_tokenizer& tokenizer() const { return tokenizer_; }
  const discrete_schedule& schedule() const { return schedule_; }
  const clip_text_encoder& text_encoder() const { return text_encoder_; }
  const unet_model& unet() const { return unet_; }
  const vae_decoder& decoder() const { return decoder_; }
  /// Absent when loaded without it.
  const std::optional<vae_encoder>& encoder() const { return encoder_; }

  /// Image sides must be multiples of this: the VAE's factor (8 for SD), as in diffusers.
  int64_t size_step() const { return decoder_.upscale_factor(); }
  /// Sides that are multiples of this (64 for SD: the VAE's factor times the UNet's) run without crops in
  /// the UNet; the sizes the models were trained at are.
  int64_t size_multiple() const { return decoder_.upscale_factor() * unet_.native_multiple(); }
  /// Image pixels per latent pixel along a side (8 for SD).
  int64_t latent_factor() const { return decoder_.upscale_factor(); }
  /// Bytes of prepared weights this model holds.
  size_t weight_bytes() const { return weight_bytes_; }

 private:
  stable_diffusion(model_weights weights, kernels::backend& be, clip_tokenizer tokenizer)
      : weights_(std::move(weights)), backend_(be), tokenizer_(std::move(tokenizer)) {}

  model_weights weights_;
  kernels::backend& backend_;
  clip_tokenizer tokenizer_;
  discrete_schedule schedule_;
  clip_text_encoder text_encoder_;
  unet_model unet_;
  vae_decoder decoder_;
  std::optional<vae_encoder> encoder_;
  size_t weight_bytes_ = 0;
};

/// About the bytes `load` will hold for a model of `weights` on a backend multiplying in `compute`: matrices
/// and filters in that dtype, vectors in f32, the token embedding as stored. For memory budgets before
/// loading; the loaded model's weight_bytes() is the measured figure.
size_t estimated_weight_bytes(const model_weights& weights, kernels::dtype compute);

}  // namespace crowdiff::models
