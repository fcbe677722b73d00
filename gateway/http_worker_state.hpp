#pragma once

#include <deque>
#include <map>
#include <set>
#include <utility>

#include "gateway/http_worker.hpp"

namespace crowdiff::gateway {

struct http_worker_state {
  struct popped {
    v1::TaskSpec spec;
    int64_t deadline_ms = 0;
  };
  struct waiting_pop {
    caf::typed_response_promise<std::vector<pb<v1::TaskSpec>>> promise;
    int64_t until_ms = 0;
  };

  http_worker_options options;
  v1::WorkerRegistration registration;
  uint64_t worker_id = 0;
  bool joining = false;
  std::deque<std::pair<v1::TaskSpec, int64_t>> pushed;  // (task, when it arrived)
  std::map<uuid, popped> out;                           // by image id
  std::set<uuid> submitted;                             // recent image ids already submitted
  std::deque<uuid> submitted_order;
  std::set<uuid> expired;  // recent image ids handed back because their deadline passed
  std::deque<uuid> expired_order;
  std::deque<waiting_pop> pops;
  int64_t last_pop_ms = 0;
  static inline const char* name = "crowdiff.http_worker";
};

}  // namespace crowdiff::gateway
