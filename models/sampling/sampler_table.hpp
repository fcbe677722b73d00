#pragma once

// Every fact about the samplers crowdiff runs, in one table: the algorithm, its value on the wire and in the
// store (crowdiff.v1.Sampler), its AI Horde and A1111 names, how many model calls a step costs, whether it
// draws noise. Parsing (the gateway), pricing (the Ledger), the pipeline, Swagger and the web page (which
// reads Swagger) all come from here. Header-only and dependency-free, so every layer may read it.
//
// To add a sampler: its step in models/sampling, a value in sampler_kind, a wire value in
// proto/crowdiff/v1/job.proto, and a row here (docs/ARCHITECTURE.md).

#include <cstdint>
#include <string_view>

namespace crowdiff::models {

/// The sampling algorithms of models/sampling. In memory only (the wire and the store use the proto's
/// values).
enum class sampler_kind : uint8_t {
  euler,       ///< k_euler
  euler_a,     ///< k_euler_a (ancestral)
  heun,        ///< k_heun
  dpm_2,       ///< k_dpm_2
  dpm_2_a,     ///< k_dpm_2_a (ancestral)
  lms,         ///< k_lms (4th-order linear multistep)
  dpmpp_2m,    ///< k_dpmpp_2m
  dpmpp_2s_a,  ///< k_dpmpp_2s_a (ancestral)
  dpmpp_sde,   ///< k_dpmpp_sde (stochastic)
  ddim,        ///< DDIM with eta = 0, which is exactly the Euler step (ComfyUI runs it as euler)
  lcm,         ///< Latent consistency: jump to the denoised estimate, re-noise to the next level
};

struct sampler_info {
  sampler_kind kind;
  uint32_t wire;                ///< crowdiff.v1.Sampler (never renumbered: stored in job records)
  std::string_view horde_name;  ///< the AI Horde's `sampler_name`
  std::string_view a1111_name;  ///< A1111's display name, in the PNG's generation parameters
  uint32_t calls_per_step;      ///< model evaluations one step costs (what a step is priced at)
  bool stochastic;              ///< draws noise while sampling (needs a noise source)
};

inline constexpr sampler_info sampler_table[] = {
    {sampler_kind::euler_a, 2, "k_euler_a", "Euler a", 1, true},
    {sampler_kind::euler, 1, "k_euler", "Euler", 1, false},
    {sampler_kind::dpmpp_2m, 7, "k_dpmpp_2m", "DPM++ 2M", 1, false},
    {sampler_kind::dpmpp_2s_a, 8, "k_dpmpp_2s_a", "DPM++ 2S a", 2, true},
    {sampler_kind::dpmpp_sde, 9, "k_dpmpp_sde", "DPM++ SDE", 2, true},
    {sampler_kind::dpm_2, 4, "k_dpm_2", "DPM2", 2, false},
    {sampler_kind::dpm_2_a, 5, "k_dpm_2_a", "DPM2 a", 2, true},
    {sampler_kind::heun, 3, "k_heun", "Heun", 2, false},
    {sampler_kind::lms, 6, "k_lms", "LMS", 1, false},
    {sampler_kind::ddim, 10, "DDIM", "DDIM", 1, false},
    {sampler_kind::lcm, 11, "lcm", "LCM", 1, true},
};

/// The sampler of a request that names none (the AI Horde's default); the first row of the table.
inline constexpr const sampler_info& default_sampler = sampler_table[0];

/// AI Horde sampler names crowdiff knows but does not run (an `unsupported` error, not an unknown name).
inline constexpr std::string_view horde_samplers_not_run[] = {"k_dpm_fast", "k_dpm_adaptive", "dpmsolver"};

/// The row for an AI Horde name; nullptr when crowdiff runs no such sampler.
constexpr const sampler_info* find_sampler(std::string_view horde_name) {
  for (const auto& s : sampler_table)
    if (s.horde_name == horde_name)
      return &s;
  return nullptr;
}

/// The row for a wire value; the default sampler for 0 (unspecified) and for values it does not know.
constexpr const sampler_info& sampler_of_wire(uint32_t wire) {
  for (const auto& s : sampler_table)
    if (s.wire == wire)
      return s;
  return default_sampler;
}

/// The row of an algorithm (every kind has one).
constexpr const sampler_info& sampler_of(sampler_kind kind) {
  for (const auto& s : sampler_table)
    if (s.kind == kind)
      return s;
  return default_sampler;
}

}  // namespace crowdiff::models
