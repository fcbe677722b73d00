#pragma once

// A test double of the Scheduler for Broker suites: answers what the Broker asks (enqueue, estimate) and
// records what it is told (enqueued records, cancels, credits). Spawned dynamically typed and cast to
// scheduler_actor: it handles only the messages the Broker sends.

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "protocol/interfaces.hpp"

namespace crowdiff::testing {

struct scheduler_log {
  std::vector<v1::JobRecord> enqueued;
  std::vector<uuid> cancelled;
  struct credit {
    uint64_t worker = 0;
    double megapixel_steps = 0;
    int64_t kudos_mk = 0;
  };
  std::vector<credit> credits;
};

inline caf::behavior fake_scheduler(caf::event_based_actor*, std::shared_ptr<scheduler_log> log) {
  return {
      [](attach_atom, const broker_actor&) {},
      [log](enqueue_atom, const pb<v1::JobRecord>& record) {
        log->enqueued.push_back(record.value);
        queue_estimate e;
        e.position = static_cast<uint32_t>(log->enqueued.size());
        e.possible = true;
        return e;
      },
      [](estimate_atom, const uuid&) {
        queue_estimate e;
        e.possible = true;
        return e;
      },
      [log](cancel_atom, const uuid& id) { log->cancelled.push_back(id); },
      [log](credit_atom, uint64_t worker, double mps, int64_t kudos_mk) {
        log->credits.push_back({worker, mps, kudos_mk});
      },
  };
}

}  // namespace crowdiff::testing
