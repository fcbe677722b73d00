#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "actors/worker/generation_thread.hpp"
#include "actors/worker/worker_actor.hpp"

namespace crowdiff {

/// A Worker's state. Its lifecycle is three behaviours (worker_actor.cpp): joining, serving and draining;
/// whether it is generating is `running_assignment != 0` in any of them.
struct worker_state {
  worker_options options;
  worker_endpoint_actor endpoint;  // null until the uplink gives one (and after it is lost)
  bool draining = false;           // for continuations that outlive a behaviour (a join reply)
  std::vector<std::pair<uint64_t, v1::GenerationResult>> undelivered;  // finished while disconnected
  uint64_t worker_id = 0;
  uint64_t running_assignment = 0;
  std::shared_ptr<std::atomic<bool>> cancel_flag;
  std::deque<v1::TaskSpec> waiting;  // pushed while a cancelled task was still winding down
  // Last member: destroyed first, so a thread of the worker's own is joined before anything it uses goes
  // away.
  std::shared_ptr<generation_runner> runner;

  ~worker_state() {
    if (cancel_flag)
      cancel_flag->store(true);
  }

  static inline const char* name = "crowdiff.worker";
};

}  // namespace crowdiff
