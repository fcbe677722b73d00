#include "actors/broker/request_validation.hpp"

#include <cmath>

#include "common/utf8.hpp"
#include "models/image/image_format.hpp"

namespace crowdiff::broker {
namespace {

status bad(const std::string& message) {
  return status{errc::invalid_argument, message};
}

status check_text(const std::string& field, const std::string& text, uint32_t max_chars) {
  if (text.size() > max_chars)
    return bad(field + " is longer than " + std::to_string(max_chars) + " bytes");
  if (text.find('\0') != std::string::npos)
    return bad(field + " contains a NUL byte");
  if (!valid_utf8(text))
    return bad(field + " is not valid UTF-8");
  return status::ok();
}

status check_names(const std::string& field, const google::protobuf::RepeatedPtrField<std::string>& names) {
  if (names.size() > 64)
    return bad(field + " lists more than 64 workers");
  for (const auto& n : names) {
    if (n.empty() || n.size() > 128)
      return bad(field + " has a name that is empty or longer than 128 bytes");
    if (!valid_utf8(n))
      return bad(field + " has a name that is not valid UTF-8");
  }
  return status::ok();
}

}  // namespace

status validate_request(const v1::JobRequest& r, const v1::LimitsConfig& limits,
                        const std::set<std::string>& known_models) {
  if (r.prompt().empty())
    return bad("prompt is empty");
  CROWDIFF_RETURN_IF_ERROR(check_text("prompt", r.prompt(), limits.max_prompt_chars()));
  CROWDIFF_RETURN_IF_ERROR(check_text("negative_prompt", r.negative_prompt(), limits.max_prompt_chars()));
  if (!v1::Sampler_IsValid(r.sampler()))
    return bad("sampler " + std::to_string(r.sampler()) + " is unknown");
  if (r.steps() < 1 || r.steps() > limits.max_steps())
    return bad("steps must be from 1 to " + std::to_string(limits.max_steps()) + ", not " +
               std::to_string(r.steps()));
  if (!std::isfinite(r.cfg_scale()) || r.cfg_scale() < 0 || r.cfg_scale() > 100)
    return bad("cfg_scale must be from 0 to 100");
  for (auto [name, side] : {std::pair{"width", r.width()}, std::pair{"height", r.height()}}) {
    if (side < 64 || side > limits.max_side() || side % 8 != 0)
      return bad(std::string(name) + " must be a multiple of 8 from 64 to " +
                 std::to_string(limits.max_side()) + ", not " + std::to_string(side));
  }
  if (r.n() < 1 || r.n() > limits.max_images())
    return bad("n must be from 1 to " + std::to_string(limits.max_images()) + ", not " +
               std::to_string(r.n()));
  if (r.seed_variation() > 1000)
    return bad("seed_variation must be from 1 to 1000 (0 means 1), not " +
               std::to_string(r.seed_variation()));
  if (r.source_image().empty()) {
    if (r.denoising_strength() != 0)
      return bad("denoising_strength needs a source_image");
  } else {
    if (r.source_image().size() > limits.max_source_image_bytes())
      return bad("source_image is larger than " + std::to_string(limits.max_source_image_bytes()) + " bytes");
    if (models::image_format(r.source_image()).empty())
      return bad("source_image must be a PNG or WebP image");
    if (!std::isfinite(r.denoising_strength()) || r.denoising_strength() <= 0 || r.denoising_strength() > 1)
      return bad("denoising_strength must be in (0, 1] with a source_image");
  }
  if (r.clip_skip() > 12)
    return bad("clip_skip must be from 0 to 12");
  if (r.models_size() > 32)
    return bad("at most 32 models may be requested");
  for (const auto& m : r.models()) {
    CROWDIFF_RETURN_IF_ERROR(check_text("models", m, 255));
    if (known_models.count(m) == 0) {
      std::string known;
      for (const auto& k : known_models)
        known += (known.empty() ? "" : ", ") + k;
      return bad("unknown model '" + m + "'" +
                 (known.empty() ? "; no model is known yet" : "; known: " + known));
    }
  }
  CROWDIFF_RETURN_IF_ERROR(check_names("worker_allow", r.worker_allow()));
  CROWDIFF_RETURN_IF_ERROR(check_names("worker_deny", r.worker_deny()));
  CROWDIFF_RETURN_IF_ERROR(check_text("client_agent", r.client_agent(), 256));
  if (r.expiry_s() > 86'400)
    return bad("expiry_s is at most 86400");
  CROWDIFF_RETURN_IF_ERROR(check_text("idempotency_key", r.idempotency_key(), 128));
  CROWDIFF_RETURN_IF_ERROR(check_text("webhook", r.webhook(), 2048));
  return status::ok();
}

}  // namespace crowdiff::broker
