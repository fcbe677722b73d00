#pragma once

// The values actors exchange. Everything that may cross a process boundary is either a plain value or a
// serialized protobuf (`pb<T>`), so the wire format is the one the store uses.

#include <cstdint>
#include <string>
#include <utility>

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>

#include "actors/errors.hpp"
#include "common/uuid.hpp"
#include "crowdiff/v1/job.pb.h"
#include "crowdiff/v1/ledger.pb.h"
#include "crowdiff/v1/result.pb.h"
#include "crowdiff/v1/user.pb.h"
#include "crowdiff/v1/worker.pb.h"

namespace crowdiff {

/// A protobuf message as an actor message value: serialized as its wire bytes.
template <class Proto>
struct pb {
  Proto value;

  pb() = default;
  explicit pb(Proto v) : value(std::move(v)) {}
};

template <class Inspector, class Proto>
typename Inspector::result_type inspect(Inspector& f, pb<Proto>& x) {
  std::string bytes;
  if constexpr (Inspector::reads_state)
    bytes = x.value.SerializeAsString();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (!x.value.ParseFromString(bytes))
      return make_error(errc::invalid_argument, "undecodable protobuf message");
    return caf::none;
  });
  return f(caf::meta::type_name("pb"), bytes, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, uuid& x) {
  std::string bytes;
  if constexpr (Inspector::reads_state)
    bytes = x.to_bytes();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    auto parsed = uuid::from_bytes(bytes);
    if (!parsed)
      return make_error(errc::invalid_argument, "a uuid has 16 bytes");
    x = *parsed;
    return caf::none;
  });
  return f(caf::meta::type_name("uuid"), bytes, load);
}

/// Where a job stands in the scheduler's queue.
struct queue_estimate {
  uint32_t position = 0;  ///< 1 = next; 0 = nothing of it waits
  uint32_t waiting = 0;
  uint32_t running = 0;
  int64_t start_ms = 0;
  int64_t finish_ms = 0;
  bool possible = true;
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_estimate& x) {
  return f(caf::meta::type_name("queue_estimate"), x.position, x.waiting, x.running, x.start_ms, x.finish_ms,
           x.possible, x.reason);
}

/// A worker as the scheduler sees it (for `crowdiff workers` and the network view).
struct worker_summary {
  uint64_t id = 0;
  std::string name;
  uint64_t owner = 0;
  std::string models;  ///< comma-separated
  double mps_per_s = 0;
  uint32_t slots = 0;
  uint32_t busy = 0;
  std::string device;
  uint64_t images_done = 0;  ///< lifetime, from the store
  int64_t kudos_earned_mk = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_summary& x) {
  return f(caf::meta::type_name("worker_summary"), x.id, x.name, x.owner, x.models, x.mps_per_s, x.slots,
           x.busy, x.device, x.images_done, x.kudos_earned_mk);
}

using worker_summaries = std::vector<worker_summary>;

}  // namespace crowdiff
