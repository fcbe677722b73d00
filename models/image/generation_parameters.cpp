#include "models/image/generation_parameters.hpp"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "models/sampling/sampler_table.hpp"

namespace crowdiff::models {
namespace {

std::string quote(const std::string& value) {
  if (value.find_first_of(",:\n") == std::string::npos)
    return value;
  return nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The shortest text that reads back as `value` ("7", "0.75"), as the A1111 UI shows them.
std::string short_float(double value) {
  char buffer[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value)
      break;
  }
  return buffer;
}

}  // namespace

std::string a1111_sampler_name(const std::string& horde_name) {
  if (const auto* s = find_sampler(horde_name))
    return std::string(s->a1111_name);
  return horde_name;
}

std::string format_a1111_parameters(const generation_parameters& p) {
  std::string out = p.prompt;
  if (!p.negative_prompt.empty())
    out += "\nNegative prompt: " + p.negative_prompt;
  std::string fields =
      "Steps: " + std::to_string(p.steps) + ", Sampler: " + quote(a1111_sampler_name(p.sampler));
  fields += ", Schedule type: " + std::string(p.karras ? "Karras" : "Automatic");
  fields += ", CFG scale: " + short_float(p.cfg_scale);
  fields += ", Seed: " + std::to_string(p.seed);
  fields += ", Size: " + std::to_string(p.width) + "x" + std::to_string(p.height);
  if (!p.model_hash.empty())
    fields += ", Model hash: " + p.model_hash.substr(0, 10);
  if (!p.model_name.empty())
    fields += ", Model: " + quote(p.model_name);
  if (p.denoising_strength)
    fields += ", Denoising strength: " + short_float(*p.denoising_strength);
  if (p.clip_skip > 1)
    fields += ", Clip skip: " + std::to_string(p.clip_skip);
  return out + "\n" + fields;
}

}  // namespace crowdiff::models
