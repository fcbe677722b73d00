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

#include "common/uuid.hpp"
#include "crowdiff/v1/job.pb.h"
#include "crowdiff/v1/ledger.pb.h"
#include "crowdiff/v1/result.pb.h"
#include "crowdiff/v1/user.pb.h"
#include "crowdiff/v1/worker.pb.h"
#include "protocol/errors.hpp"

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

/// The scheduler's load, for the AI Horde's /status/performance.
struct scheduler_load {
  uint32_t queued_images = 0;
  double queued_megapixel_steps = 0;
  uint32_t running_images = 0;
  uint32_t worker_count = 0;
  uint32_t slot_count = 0;
  double past_minute_megapixel_steps = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scheduler_load& x) {
  return f(caf::meta::type_name("scheduler_load"), x.queued_images, x.queued_megapixel_steps,
           x.running_images, x.worker_count, x.slot_count, x.past_minute_megapixel_steps);
}

/// Supply and demand of one model, for /status/models.
struct model_stat {
  std::string name;
  uint32_t workers = 0;    ///< online workers offering it
  double performance = 0;  ///< their average speed, megapixel-steps per second
  double queued = 0;       ///< waiting work that can use it, megapixel-steps
  uint32_t jobs = 0;       ///< waiting and running images that can use it
  int64_t eta_s = 0;       ///< queued / (workers * performance); 10000 without capacity
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_stat& x) {
  return f(caf::meta::type_name("model_stat"), x.name, x.workers, x.performance, x.queued, x.jobs, x.eta_s);
}

using model_stats = std::vector<model_stat>;

/// Images delivered and their pixel-steps, by window, for /stats/img/totals.
struct image_totals {
  uint64_t minute_images = 0, hour_images = 0, day_images = 0, month_images = 0, total_images = 0;
  double minute_ps = 0, hour_ps = 0, day_ps = 0, month_ps = 0, total_ps = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, image_totals& x) {
  return f(caf::meta::type_name("image_totals"), x.minute_images, x.hour_images, x.day_images, x.month_images,
           x.total_images, x.minute_ps, x.hour_ps, x.day_ps, x.month_ps, x.total_ps);
}

}  // namespace crowdiff
