#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace crowdiff::models {

/// What produced an image, for the metadata embedded in PNG and WebP output.
struct generation_parameters {
  std::string prompt;
  std::string negative_prompt;
  int steps = 0;
  std::string sampler;  ///< AI Horde name, e.g. "k_euler_a"; written with A1111's display name.
  bool karras = false;
  double cfg_scale = 7.0;
  uint64_t seed = 0;
  int width = 0;
  int height = 0;
  std::string model_name;
  std::string model_hash;                    ///< Full SHA-256 hex; A1111 shows its first 10 digits.
  std::optional<double> denoising_strength;  ///< img2img only.
  int clip_skip = 1;
};

/// The "parameters" text of AUTOMATIC1111's web UI, which most image viewers and prompt tools parse:
///   <prompt>
///   Negative prompt: <negative>            (omitted when empty)
///   Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 42, Size: 512x512,
///   Model hash: 0123456789, Model: name, Denoising strength: 0.75, Clip skip: 2
/// Values containing ',', ':' or a newline are JSON-quoted as A1111 does.
std::string format_a1111_parameters(const generation_parameters& params);

/// A1111's display name for a Horde sampler name ("k_dpmpp_2m" -> "DPM++ 2M"); unknown names pass through.
std::string a1111_sampler_name(const std::string& horde_name);

}  // namespace crowdiff::models
