#pragma once

#include <chrono>

#include "common/clock.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff::gateway {

struct http_worker_state;

struct http_worker_options {
  scheduler_actor scheduler;
  /// A task pushed to the worker but not popped within this is handed back (the worker stopped popping); a
  /// worker that holds no popped task then leaves the scheduler until its next pop.
  std::chrono::milliseconds unpopped_limit{5'000};
  /// A worker that has not popped for this long leaves.
  std::chrono::milliseconds idle_limit{60'000};
  clock_fn now = wall_ms;
};

/// An HTTP worker (reGen and other AI Horde workers that pop and submit). It joins the scheduler on the first
/// pop with what the pop says (models, max pixels, threads as slots); tasks the scheduler pushes wait here
/// until popped. A popped task not submitted within its deadline (3x the scheduler's estimate plus 30 s: the
/// job's own estimate, not the AI Horde's fixed 150 s) is handed back as a fault, so it runs elsewhere.
/// Submitting an image twice, or one it never had, is an error (already_exists, not_found); submitting one
/// after its deadline is deadline_exceeded. A pop with another model list than the last one re-registers.
http_worker_actor::behavior_type http_worker_fn(http_worker_actor::stateful_pointer<http_worker_state> self,
                                                http_worker_options options);

}  // namespace crowdiff::gateway
