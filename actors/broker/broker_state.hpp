#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

#include "actors/broker/broker_actor.hpp"
#include "actors/broker/job_status.hpp"
#include "actors/detail/pending_writes.hpp"

namespace crowdiff {

struct broker_state {
  /// An unfinished job: its last committed record plus what only lives in memory.
  struct job_entry {
    v1::JobRecord record;
    std::vector<broker::live_image> live;
    std::vector<caf::actor> subscribers;
    bool started = false;  // a worker has begun on one of its images (not persisted)
  };

  broker_options options;
  detail::pending_writes writes;
  std::unordered_map<uuid, job_entry, uuid_hash> jobs;
  std::unordered_map<uint64_t, uint32_t> active_per_user;
  std::set<std::string> catalog;
  uint64_t next_sequence = 0;

  static inline const char* name = "crowdiff.broker";
};

}  // namespace crowdiff
