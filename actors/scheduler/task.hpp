#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actors/scheduler/features.hpp"
#include "common/uuid.hpp"
#include "crowdiff/v1/job.pb.h"

namespace crowdiff::scheduling {

using worker_id = uint64_t;
using model_id = uint32_t;

/// One image of a job: the unit the scheduler places on a worker.
struct task {
  uuid job;
  uint32_t index = 0;
  uint64_t sequence = 0;         ///< the job's submission order
  double order_key = 0;          ///< priority with ageing folded in: higher goes first (see allocator)
  std::vector<model_id> models;  ///< acceptable models; empty: any
  uint64_t pixels = 0;
  double megapixel_steps = 0;  ///< the work, second-order samplers counted twice
  int64_t value_mk = 0;        ///< what the winning worker's owner is credited
  bool nsfw = false;
  uint32_t features = 0;           ///< bits of features.hpp
  std::vector<std::string> allow;  ///< worker names or ids; non-empty: only these
  std::vector<std::string> deny;
  int64_t queued_ms = 0;
  int64_t expires_ms = 0;                ///< fails if still waiting then
  uint32_t attempts = 0;                 ///< dispatches lost to faults or dead workers
  std::vector<worker_id> excluded;       ///< workers that faulted on it
  std::vector<worker_id> dispatched_to;  ///< every worker it was ever given to
  int64_t unservable_since_ms = 0;  ///< when it was last seen that no online worker can run it; 0: one can
  uint64_t owner_user_id = 0;
  uint64_t seed = 0;
  std::shared_ptr<const v1::JobRequest> request;

  /// A key unique among live tasks: submission order, then image index (at most 32 images a job).
  uint64_t key() const { return sequence * 32 + index; }
};

/// A task placed on a worker. A task may have two: the original and a backup copy.
struct assignment {
  uint64_t id = 0;
  uint64_t task_key = 0;
  uuid job;
  uint32_t index = 0;
  worker_id worker = 0;
  model_id model = 0;
  int64_t started_ms = 0;
  int64_t estimated_ms = 0;    ///< expected compute time
  double megapixel_steps = 0;  ///< the task's work
  bool backup = false;
};

}  // namespace crowdiff::scheduling
