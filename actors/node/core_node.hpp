#pragma once

#include <chrono>

#include <caf/actor_system.hpp>

#include "common/clock.hpp"
#include "crowdiff/v1/config.pb.h"
#include "persistence/store.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

/// The core's actors.
struct core_handles {
  broker_actor broker;
  scheduler_actor scheduler;
  ledger_actor ledger;
};

struct core_timing {
  std::chrono::milliseconds scheduler_tick{1000};
  std::chrono::milliseconds uptime_interval{60'000};
  std::chrono::milliseconds sweep_interval{60'000};
};

/// Spawns the Ledger, Scheduler and Broker over `store` (which must outlive them). `config` must have its
/// defaults applied. The broker recovers unfinished jobs from the store as it starts.
core_handles spawn_core(caf::actor_system& system, persistence::store& store, const v1::NodeConfig& config,
                        clock_fn now = wall_ms, core_timing timing = {});

/// Stops the core's actors (unfinished jobs stay in the store).
void stop_core(const core_handles& core);

}  // namespace crowdiff
