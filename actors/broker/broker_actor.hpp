#pragma once

#include <chrono>

#include "common/clock.hpp"
#include "crowdiff/v1/config.pb.h"
#include "persistence/store.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

struct broker_state;

/// Spawn arguments of the broker.
struct broker_options {
  persistence::store* store = nullptr;
  scheduler_actor scheduler;
  v1::NodeConfig config;  ///< with defaults applied: limits, ledger floors and priorities, retention, expiry
  std::chrono::milliseconds sweep_interval{60'000};
  clock_fn now = wall_ms;
};

/// The Broker: accepts jobs (validated, authenticated, quoted, stored durably, then acknowledged), owns their
/// state, answers status with queue position and estimates, pushes progress and images to subscribers,
/// serves results, cancels. A delivered image is stored together with its ledger settlement and the job's new
/// state in one transaction, at most once. On start it recovers every unfinished job from the store.
broker_actor::behavior_type broker_fn(broker_actor::stateful_pointer<broker_state> self,
                                      broker_options options);

}  // namespace crowdiff
