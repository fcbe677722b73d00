#pragma once

// The AI Horde's request bodies for workers and kudos, read into plain values with per-field errors as the
// AI Horde reports them: `POST /v2/generate/pop`, `POST /v2/generate/submit`, `PUT /v2/workers/{id}`,
// `POST /v2/kudos/transfer`. No CAF, no store: the routes act on what these return (and the fuzz targets feed
// them whatever bytes parse as JSON).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/uuid.hpp"
#include "crowdiff/v1/worker.pb.h"
#include "gateway/horde_json.hpp"

namespace crowdiff::gateway {

/// The worker a pop describes (name, models, sizes, slots, features, bridge agent) for `owner`; false with
/// `errors` filled when anything is unusable.
bool parse_pop(const nlohmann::json& body, uint64_t owner, v1::WorkerRegistration& reg, field_errors& errors);

/// A submit: which image, how it ended, its seed and its bytes (base64, or "R2" for an upload).
struct submit_input {
  std::optional<uuid> image;  ///< set when parsing succeeded
  std::string state = "ok";   ///< ok, censored, faulted or csam
  uint64_t seed = 0;
  std::string generation;
};
bool parse_submit(const nlohmann::json& body, submit_input& out, field_errors& errors);

/// A worker's changes (PUT /v2/workers/{id}): false with `errors` empty when it changes nothing.
struct worker_changes {
  std::optional<bool> maintenance;
  std::optional<std::string> info;
};
bool parse_worker_changes(const nlohmann::json& body, worker_changes& out, field_errors& errors);

/// A kudos transfer: to whom, and how many (in milli-kudos; 100 kudos when absent).
struct transfer_input {
  std::string username;
  int64_t amount_mk = 100'000;
};
bool parse_transfer(const nlohmann::json& body, transfer_input& out, field_errors& errors);

}  // namespace crowdiff::gateway
