#pragma once

// Helpers shared by the Scheduler's source files (scheduler_actor.cpp, scheduler_results.cpp).

#include <cstdint>

#include "actors/scheduler/allocator.hpp"
#include "actors/scheduler/scheduler_state.hpp"
#include "crowdiff/v1/result.pb.h"

namespace crowdiff::scheduler_detail {

using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

// scheduler_actor.cpp
/// Carries out what the allocator decided.
void apply(self_ptr self, scheduling::decisions& d);
/// Whether the current message comes from the actor registered as worker `id`.
bool from_worker(self_ptr self, uint64_t id);
/// Counts a fault on the worker's record; `rejected` when its image failed the check.
void count_fault(self_ptr self, uint64_t id, bool rejected);

// scheduler_results.cpp
/// A worker's result: checked beside the Scheduler, then completed (paid by the Broker) or rejected as the
/// worker's fault.
void receive_result(self_ptr self, uint64_t worker, uint64_t assignment, v1::GenerationResult r);

}  // namespace crowdiff::scheduler_detail
