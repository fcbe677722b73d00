#pragma once

#include <string_view>

#include "common/status.hpp"
#include "kernels/tensor.hpp"
#include "models/pipeline/stable_diffusion.hpp"

namespace crowdiff::models {

/// How many text encoder layers run for a clip skip (1 = none), in ComfyUI's convention: SD 1.x takes layer
/// 12 - (clip_skip - 1) of 12; SD 2.x counts from OpenCLIP's full tower, whose last layer it never uses, so
/// clip skip 1 and 2 both give the penultimate layer it was trained on, 3 one layer less, and so on. The
/// final LayerNorm always follows. Errors: invalid_argument when no layer would be left.
result<int> text_layers_for_clip_skip(const stable_diffusion& model, int clip_skip);

/// The UNet's conditioning for a prompt and a negative prompt, batched for classifier-free guidance:
/// [2, 77 * chunks, D], the prompt's row first. Each prompt is tokenized and split into 75-token chunks
/// (framed and padded to 77, as ComfyUI and A1111 do), the shorter one padded with empty chunks; every
/// chunk is encoded separately (in one batch) and the chunks concatenated along the sequence.
/// `with_negative` false gives [1, 77 * chunks, D] for the prompt alone (guidance scale 1). Errors: those of
/// text_layers_for_clip_skip and the backend.
result<kernels::tensor> encode_prompts(const stable_diffusion& model, std::string_view prompt,
                                       std::string_view negative, int clip_skip, bool with_negative = true);

}  // namespace crowdiff::models
