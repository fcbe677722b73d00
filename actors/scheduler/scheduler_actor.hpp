#pragma once

#include <chrono>
#include <vector>

#include "actors/scheduler/allocator.hpp"
#include "actors/scheduler/uptime_pay.hpp"
#include "common/clock.hpp"
#include "persistence/store.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

struct scheduler_state;

/// Spawn arguments of the scheduler.
struct scheduler_options {
  persistence::store* store = nullptr;
  ledger_actor ledger;
  scheduling::allocator_config allocation;
  std::chrono::milliseconds tick_interval{1000};
  std::chrono::milliseconds uptime_interval{60'000};
  scheduling::uptime_rules uptime;   ///< who earns uptime (ledger.uptime_*)
  size_t max_catalog_models = 4096;  ///< limits.max_catalog_models: model names live workers may bring in
  clock_fn now = wall_ms;
};

/// The Scheduler: keeps the waiting images and the live workers and places each image, the moment it arrives
/// or a worker frees a slot, on the worker that will finish it first (scheduling::allocator). Monitors
/// workers: a dead worker's images are requeued at once. Forwards progress and the winning result of every
/// image to the broker; pays uptime through the ledger.
scheduler_actor::behavior_type scheduler_fn(scheduler_actor::stateful_pointer<scheduler_state> self,
                                            scheduler_options options);

/// Checks a worker's registration: name, models, sizes, slots and speed in range. invalid_argument otherwise.
status validate_registration(const v1::WorkerRegistration& registration);

}  // namespace crowdiff
