#pragma once

#include <cstdint>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/nn/attention_layer.hpp"
#include "models/nn/layers.hpp"
#include "models/weights/model_config.hpp"

namespace crowdiff::models {

/// The CLIP text transformer of SD 1.x (OpenAI ViT-L/14: quick_gelu) and SD 2.x (OpenCLIP ViT-H: exact gelu,
/// mapped to the same canonical names): token + position embeddings, pre-norm layers of causal
/// self-attention and an MLP, a final LayerNorm.
///
/// Which hidden state conditions the UNet is the caller's choice (`encode`'s `layers`): SD 1.x uses the last
/// layer, "clip skip" N stops N - 1 layers earlier; SD 2.x stops one layer before OpenCLIP's last. Either way
/// the final LayerNorm is applied to the state taken, as ComfyUI and SD 2.x do.
class clip_text_encoder {
 public:
  /// Loads `text_encoder.text_model.*`: embeddings, the first `layers` layers (0: config.layers_used) and the
  /// final norm. Errors: the loader's, invalid_argument for more layers than the checkpoint has.
  static result<clip_text_encoder> load(weight_loader& loader, const text_encoder_config& config,
                                        int layers = 0);

  /// ids [B, L] (i32, L <= max_positions) through the first `layers` layers (1..loaded_layers()), then the
  /// final LayerNorm when `final_norm` -> [B, L, hidden]. Errors: invalid_argument for a bad shape, a layer
  /// count out of range or an id outside the vocabulary.
  result<kernels::tensor> encode(kernels::backend& be, const kernels::tensor& ids, int layers,
                                 bool final_norm = true) const;

  /// CLIP's pooled output: for each row, the hidden state (after the final norm) at the first end-of-text
  /// token `eos` in `ids` (host [B, L] i32); the last position if there is none. hidden [B, L, D] -> host
  /// [B, D].
  result<kernels::tensor> pooled(kernels::backend& be, const kernels::tensor& hidden,
                                 const kernels::tensor& ids, int32_t eos) const;

  int loaded_layers() const { return static_cast<int>(layers_.size()); }
  int64_t hidden_size() const { return hidden_; }

 private:
  struct layer {
    layer_norm_layer norm1, norm2;
    attention_layer attention;
    linear_layer fc1, fc2;
  };

  kernels::tensor token_embedding_;     // [vocab, D]
  kernels::tensor position_embedding_;  // [positions, D]
  std::vector<layer> layers_;
  layer_norm_layer final_norm_;
  kernels::activation activation_ = kernels::activation::quick_gelu;
  int64_t hidden_ = 0;
  int64_t positions_ = 0;
};

}  // namespace crowdiff::models
