#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace crowdiff::models {

/// The Stable Diffusion generations crowdiff runs. Persisted in caches: never renumber.
enum class model_family : uint8_t { sd1 = 0, sd2 = 1 };

/// What the UNet predicts. Weights cannot tell: SD 2.x 768-v and 512-base have identical tensors.
enum class prediction_type : uint8_t { epsilon = 0, v_prediction = 1 };

std::string_view to_string(model_family family);
std::string_view to_string(prediction_type prediction);

struct unet_config {
  int in_channels = 4;
  int out_channels = 4;
  std::vector<int> block_out_channels;     ///< Per resolution level, e.g. {320, 640, 1280, 1280}.
  std::vector<bool> down_block_attention;  ///< Whether each down level has cross-attention.
  std::vector<int> attention_heads;        ///< Heads per level (diffusers' `attention_head_dim`).
  int layers_per_block = 2;
  int transformer_layers = 1;  ///< Transformer blocks per attention module.
  int cross_attention_dim = 768;
  bool use_linear_projection = false;  ///< proj_in/proj_out are linear (SD2) rather than 1x1 convs.
  int norm_groups = 32;
};

/// ok, or unsupported when the levels' lists disagree in length or a block would have no layers.
status validate(const unet_config& config);

struct vae_config {
  int in_channels = 3;
  int latent_channels = 4;
  std::vector<int> block_out_channels;  ///< Encoder order, e.g. {128, 256, 512, 512}.
  int layers_per_block = 2;             ///< Encoder resnets per level; the decoder has one more.
  int norm_groups = 32;
  float scaling_factor = 0.18215f;
};

struct text_encoder_config {
  int vocab_size = 49408;
  int hidden_size = 768;
  int intermediate_size = 3072;
  int num_layers = 12;   ///< Layers present in the weights.
  int layers_used = 12;  ///< Layers the pipeline runs by default (SD2 stops at the penultimate one).
  int num_heads = 12;
  int max_positions = 77;
  bool quick_gelu = true;  ///< CLIP ViT-L (SD1) uses quick_gelu; OpenCLIP ViT-H (SD2) uses exact gelu.
  float layer_norm_eps = 1e-5f;
  int pad_token = 49407;  ///< SD1 pads with EOS; SD2's OpenCLIP tokenizer pads with 0 ("!").
};

struct schedule_config {
  prediction_type prediction = prediction_type::epsilon;
  double beta_start = 0.00085;
  double beta_end = 0.012;
  int train_steps = 1000;
};

/// Everything a pipeline needs to build the blocks, detected from tensor shapes and refined by diffusers'
/// config.json files where a folder has them.
struct model_config {
  model_family family = model_family::sd1;
  unet_config unet;
  vae_config vae;
  text_encoder_config text;
  schedule_config schedule;
};

/// Shape of a canonical tensor, or nullopt when absent.
using shape_lookup = std::function<std::optional<std::vector<int64_t>>(std::string_view canonical_name)>;

/// Detects the configuration from canonical tensor shapes. `open_clip_source` says the text encoder came
/// from OpenCLIP names (an SD2 single file, which keeps all 24 layers though SD2 uses 23). Heads are not in
/// the shapes: SD1 has 8 per level, SD2 64 channels per head, text encoders 64 channels per head; config
/// files override them. Errors: corruption when a tensor the architecture needs is missing or inconsistent,
/// unsupported for architectures crowdiff does not run (SDXL, inpainting UNets with 9 input channels are
/// accepted; a 2-encoder model is not).
result<model_config> detect_model_config(const shape_lookup& shapes, bool open_clip_source);

/// Overrides detected values with diffusers' JSON config texts (unet/config.json, vae/config.json,
/// text_encoder/config.json, scheduler/scheduler_config.json); empty texts are skipped. Errors: corruption
/// for unparsable JSON, naming `source`.
status apply_diffusers_config(model_config& config, std::string_view component, std::string_view json_text,
                              std::string_view source);

}  // namespace crowdiff::models
