#pragma once

#include "actors/detail/authenticate.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

struct worker_session_state;

/// Spawn arguments of a worker session.
struct worker_session_options {
  detail::principal owner;
  caf::actor peer;  ///< the remote worker that logged in
  scheduler_actor scheduler;
};

/// One remote worker's session on the core. To the scheduler it is the worker (it joins with itself as the
/// worker handle, so the scheduler monitors the session); to the remote worker it is the scheduler. It stamps
/// the owner from the API key, accepts worker messages only from the worker that logged in and only for its
/// own worker id, and ends when that worker goes away or its connection drops.
worker_session_actor::behavior_type worker_session_fn(
    worker_session_actor::stateful_pointer<worker_session_state> self, worker_session_options options);

struct worker_session_state {
  worker_session_options options;
  uint64_t worker_id = 0;
  static inline const char* name = "crowdiff.worker_session";
};

}  // namespace crowdiff
