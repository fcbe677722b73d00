#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

#include "actors/broker/broker_actor.hpp"
#include "actors/broker/delivery_stats.hpp"
#include "actors/broker/job_book.hpp"
#include "actors/detail/pending_writes.hpp"

namespace crowdiff {

struct broker_state {
  broker_options options;
  detail::pending_writes writes;
  /// The unfinished jobs (the functional core: actors/broker/job_book).
  broker::job_book book;
  /// Who listens to each watched job (clients of any kind, so dynamically typed).
  std::unordered_map<uuid, std::vector<caf::actor>, uuid_hash> subscribers;
  std::set<std::string> catalog;
  uint64_t next_sequence = 0;
  broker::delivery_stats delivered;

  static inline const char* name = "crowdiff.broker";
};

}  // namespace crowdiff
