#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crowdiff::models {

/// Canonical tensor names are diffusers' names with the component folder as prefix:
/// "unet.down_blocks.0.resnets.0.conv1.weight", "vae.decoder.conv_in.weight",
/// "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.weight". Blocks look tensors up by these names
/// whatever layout the checkpoint came in.
inline constexpr std::string_view unet_prefix = "unet.";
inline constexpr std::string_view vae_prefix = "vae.";
inline constexpr std::string_view text_encoder_prefix = "text_encoder.";

/// How a source tensor becomes a canonical one.
struct key_target {
  std::string name;   ///< Canonical name.
  int8_t third = -1;  ///< -1: the whole tensor; 0, 1, 2: that third along dim 0 (OpenCLIP's fused q/k/v).
  bool squeeze_1x1 = false;  ///< A 1x1 convolution [O, I, 1, 1] read as the linear layer [O, I].
};

/// Facts about a single-file checkpoint's structure that its key names encode only relative to each other.
struct single_file_structure {
  int unet_layers_per_block =
      2;               ///< Resnets per UNet down level (input_blocks per level minus the downsampler).
  int vae_levels = 4;  ///< Resolution levels of the VAE decoder (its `up.N` count).
};

/// Reads the structure from the checkpoint's key list: the UNet's first downsampler sits at input_blocks
/// index layers_per_block + 1, and the VAE decoder's levels are numbered up.0 .. up.N-1.
single_file_structure detect_single_file_structure(const std::vector<std::string>& keys);

/// Maps one tensor name of an original (CompVis/LDM or Stability) single-file checkpoint to its canonical
/// name(s): `model.diffusion_model.*` (UNet), `first_stage_model.*` (VAE), `cond_stage_model.transformer.*`
/// (SD1 CLIP ViT-L, HF names) and `cond_stage_model.model.*` (SD2 OpenCLIP ViT-H; its fused attention
/// in_proj gives three targets). Empty: the tensor is not part of the inference model (EMA copies, training
/// buffers, OpenCLIP's projection head and logit scale).
std::vector<key_target> map_single_file_key(std::string_view key, const single_file_structure& structure);

/// Maps a tensor of a diffusers component file to its canonical name. `component_prefix` is one of the
/// prefixes above. Also renames the attention of VAEs saved by diffusers before 0.14 (query/key/value/
/// proj_attn as 1x1-conv-shaped tensors) to today's to_q/to_k/to_v/to_out.0.
key_target map_diffusers_key(std::string_view key, std::string_view component_prefix);

}  // namespace crowdiff::models
