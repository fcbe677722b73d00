#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crowdiff/v1/job.pb.h"
#include "protocol/messages.hpp"

namespace crowdiff::broker {

/// What the broker knows of an image beyond its stored slot: whether a worker has it now, and its progress.
struct live_image {
  bool running = false;
  uint32_t step = 0;
  uint32_t total = 0;
  uint64_t worker = 0;
  std::string worker_name;
};

/// A job's status for its requester: the stored record, live progress (may be empty) and the scheduler's
/// estimate (may be null: a finished job).
v1::JobStatus make_status(const v1::JobRecord& record, const std::vector<live_image>& live,
                          const queue_estimate* estimate);

/// True for DONE, FAILED and CANCELLED.
bool is_terminal(v1::JobState state);

}  // namespace crowdiff::broker
