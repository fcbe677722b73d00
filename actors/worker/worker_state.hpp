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

struct worker_state {
  enum class phase : uint8_t { joining, idle, generating, draining };

  worker_options options;
  phase current = phase::joining;
  worker_endpoint_actor endpoint;  // null while (re)joining
  bool idle_before_join = true;    // whether to become idle or keep generating after the join
  std::vector<std::pair<uint64_t, v1::GenerationResult>> undelivered;  // finished while disconnected
  uint64_t worker_id = 0;
  uint64_t running_assignment = 0;
  std::shared_ptr<std::atomic<bool>> cancel_flag;
  std::deque<v1::TaskSpec> waiting;  // pushed while a cancelled task was still winding down
  // Last member: destroyed first, so the thread is joined before anything it uses goes away.
  std::unique_ptr<generation_thread> thread = std::make_unique<generation_thread>();

  ~worker_state() {
    if (cancel_flag)
      cancel_flag->store(true);
  }

  static inline const char* name = "crowdiff.worker";
};

}  // namespace crowdiff
