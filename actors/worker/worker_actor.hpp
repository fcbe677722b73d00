#pragma once

#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "actors/worker/generator.hpp"
#include "common/clock.hpp"

namespace crowdiff {

struct worker_state;

/// Spawn arguments of a worker.
struct worker_options {
  scheduler_actor scheduler;
  std::shared_ptr<generator> gen;
  std::string name;
  uint64_t owner_user_id = 0;
  bool nsfw = true;
  double mps_per_s = 0;  ///< from generator::benchmark(), measured before spawning
  std::string version = "crowdiff-worker:0.1.0";
  clock_fn now = wall_ms;
};

/// A Worker: joins the scheduler with its capabilities and speed, receives pushed tasks, runs them one at a
/// time on its generation thread, streams progress, returns the image or a fault with its reason, and stops a
/// cancelled task promptly. Phases: joining, idle, generating, draining (then it leaves and quits).
worker_actor::behavior_type worker_fn(worker_actor::stateful_pointer<worker_state> self,
                                      worker_options options);

/// The registration a worker sends, from its options and generator.
v1::WorkerRegistration make_registration(const worker_options& options);

}  // namespace crowdiff
