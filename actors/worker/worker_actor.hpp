#pragma once

#include <memory>
#include <string>

#include "actors/worker/generation_thread.hpp"
#include "actors/worker/generator.hpp"
#include "common/clock.hpp"
#include "common/version.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

struct worker_state;

/// Spawn arguments of a worker.
struct worker_options {
  uplink_actor uplink;  ///< gives the endpoint to join (again, after a lost connection)
  std::shared_ptr<generator> gen;
  std::string name;
  uint64_t owner_user_id = 0;
  bool nsfw = true;
  double mps_per_s = 0;  ///< from generator::benchmark(), measured before spawning
  /// Tasks the scheduler may push at once. The worker runs them one after another; the second waits in the
  /// worker, so the next image starts the moment one ends instead of a round trip later.
  uint32_t slots = 2;
  std::string version = "crowdiff-worker:" + std::string(crowdiff::version());
  clock_fn now = wall_ms;
  /// Where generations run; null: a generation_thread of the worker's own.
  std::shared_ptr<generation_runner> runner;
};

/// A Worker: joins its endpoint (the scheduler, or a session on a remote core) with its capabilities and
/// speed, receives pushed tasks, runs them one at a time on its generation thread, streams progress, returns
/// the image or a fault with its reason, and stops a cancelled task promptly. When its endpoint goes away it
/// asks its uplink for a new one and joins again under the same name (the core knows it as the same worker);
/// a result finished meanwhile is delivered after the rejoin. Behaviours: joining, serving, draining.
worker_impl_actor::behavior_type worker_fn(worker_impl_actor::stateful_pointer<worker_state> self,
                                           worker_options options);

/// An uplink for a worker in the core's own process: the endpoint is the scheduler.
uplink_actor::behavior_type local_uplink_fn(scheduler_actor scheduler);

/// The registration a worker sends, from its options and generator.
v1::WorkerRegistration make_registration(const worker_options& options);

}  // namespace crowdiff
