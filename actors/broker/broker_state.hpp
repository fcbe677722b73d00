#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
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
    bool started = false;
    uint32_t restarted =
        0;  // images sent back to the queue  // a worker has begun on one of its images (not persisted)
  };

  broker_options options;
  detail::pending_writes writes;
  std::unordered_map<uuid, job_entry, uuid_hash> jobs;
  /// Each user's unfinished jobs (admission counts their images and what they will still cost).
  std::unordered_map<uint64_t, std::unordered_set<uuid, uuid_hash>> jobs_by_user;
  std::set<std::string> catalog;
  uint64_t next_sequence = 0;

  /// Delivered images per minute for the last 31 days (statistics; not persisted: totals come from the
  /// workers' lifetime counts at start).
  struct minute_bucket {
    int64_t minute = 0;
    uint64_t images = 0;
    double pixel_steps = 0;
  };
  std::deque<minute_bucket> delivered;
  uint64_t total_images = 0;
  double total_pixel_steps = 0;

  static inline const char* name = "crowdiff.broker";
};

}  // namespace crowdiff
