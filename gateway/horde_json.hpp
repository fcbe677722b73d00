#pragma once

// The AI Horde v2 JSON shapes: requests parsed into crowdiff's protobufs (with per-field errors), and
// crowdiff's statuses written back the way AI Horde clients expect them (string seeds, integer wait times).

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "gateway/webhook_url.hpp"
#include "protocol/messages.hpp"

namespace crowdiff::gateway {

/// Validation failures by field, as AI Horde reports them (`{"errors": {field: message}}`).
using field_errors = std::map<std::string, std::string>;

/// A parsed `POST /v2/generate/async` body.
struct generate_input {
  v1::JobRequest request;
  bool dry_run = false;
  std::optional<webhook_url> webhook;  ///< `request.webhook()` taken apart, when one was given
};

/// Parses a generate body: AI Horde field names and effective defaults (sampler k_euler_a, cfg 5, karras on,
/// 512x512, 30 steps, nsfw true, models ["stable_diffusion"] when absent, r2 true). Features this server
/// cannot honour (post-processing, LoRAs, ControlNet, ...) and unknown fields are errors, not silently
/// dropped. Returns false with `errors` filled when anything is wrong.
bool parse_generate(const nlohmann::json& body, generate_input& out, field_errors& errors);

/// The longest seed text accepted: turning a decimal seed into bytes takes time that grows with the square of
/// its length, so a stranger's megabyte of digits must not reach it.
inline constexpr size_t max_seed_chars = 256;

/// The AI Horde's seed rule: a digit string is a number, other text its UTF-8 bytes as a little-endian
/// number; either is folded (>> 32) until it fits in 32 bits.
uint64_t seed_from_text(const std::string& text);

/// A per-image id (a UUID) derived from the job and the image index: AI Horde's "procgen" ids.
uuid image_id(const uuid& job, uint32_t index);

/// `/v2/generate/check/{id}`: finished, processing, restarted, waiting, done, faulted, wait_time,
/// queue_position, kudos, is_possible.
nlohmann::json check_json(const v1::JobStatus& status, int64_t now_ms);

/// One generation of `/v2/generate/status/{id}`; `img` is a URL or base64 as the request asked.
nlohmann::json generation_json(const v1::GenerationResult& result, const uuid& job, std::string img);

/// A worker as `/v2/workers` shows it.
nlohmann::json worker_json(const worker_summary& w, const v1::WorkerRecord* record, bool online);

/// Standard base64 (whitespace allowed, an optional `data:...;base64,` prefix dropped) into bytes; false when
/// `text` is not base64 from start to end (complete padding, no bits left over).
bool decode_base64(std::string_view text, std::string& out);

/// An error body `{"message", "rc"}` (and `errors` when given).
std::string error_body(const std::string& message, const std::string& rc, const field_errors& errors = {});

/// The HTTP status and AI Horde return code for a crowdiff error.
std::pair<unsigned, std::string> http_error_of(const status& s);

/// The sampler's AI Horde name.
std::string sampler_name(v1::Sampler s);

}  // namespace crowdiff::gateway
