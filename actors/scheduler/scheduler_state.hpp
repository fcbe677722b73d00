#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_addr.hpp>

#include "actors/detail/pending_writes.hpp"
#include "actors/scheduler/scheduler_actor.hpp"
#include "actors/scheduler/uptime_pay.hpp"

namespace crowdiff {

struct scheduler_state {
  struct live_worker {
    worker_actor handle;
    caf::actor_addr address;
    v1::WorkerRegistration registration;
    int64_t joined_ms = 0;
    int64_t uptime_paid_ms = 0;  // its uptime statistic is counted up to here
    int64_t last_credit_ms = 0;  // last paid for an image for someone else (uptime_pay: serving)
  };

  scheduler_options options;
  scheduling::allocator alloc;
  broker_actor broker;
  detail::pending_writes writes;
  std::unordered_map<uint64_t, live_worker> workers;
  std::unordered_map<caf::actor_addr, uint64_t> by_address;
  std::set<std::string> catalog;
  std::unordered_set<uint64_t> checking;  // assignments whose result is being checked (result_check)
  int64_t last_uptime_ms = 0;
  std::optional<scheduling::uptime_pay> uptime;      // set at spawn from the options
  std::deque<std::pair<int64_t, double>> delivered;  // (ms, megapixel-steps) of the last minute's results

  static inline const char* name = "crowdiff.scheduler";
};

}  // namespace crowdiff
