#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>

#include <caf/actor_addr.hpp>

#include "actors/detail/pending_writes.hpp"
#include "actors/scheduler/scheduler_actor.hpp"

namespace crowdiff {

struct scheduler_state {
  struct live_worker {
    worker_actor handle;
    caf::actor_addr address;
    v1::WorkerRegistration registration;
    int64_t joined_ms = 0;
    int64_t uptime_paid_ms = 0;
  };

  scheduler_options options;
  scheduling::allocator alloc;
  broker_actor broker;
  detail::pending_writes writes;
  std::unordered_map<uint64_t, live_worker> workers;
  std::unordered_map<caf::actor_addr, uint64_t> by_address;
  std::set<std::string> catalog;
  int64_t last_uptime_ms = 0;
  std::deque<std::pair<int64_t, double>> delivered;  // (ms, megapixel-steps) of the last minute's results

  static inline const char* name = "crowdiff.scheduler";
};

}  // namespace crowdiff
