#pragma once

#include <string>
#include <vector>

#include "common/status.hpp"

namespace crowdiff::bench {

/// What a finished child process left behind.
struct child_outcome {
  int exit_code = -1;       ///< -1 when killed by a signal.
  std::string stdout_text;  ///< Everything it wrote to stdout (stderr passes through to ours).
  double peak_rss_mb = 0;   ///< Its peak resident set (getrusage's ru_maxrss), in MiB.
  double wall_s = 0;
};

/// Runs `argv[0]` (searched in PATH) with `argv` and waits for it, capturing stdout and measuring the peak
/// memory of that process alone. Errors: io_error when it cannot be started.
result<child_outcome> run_child(const std::vector<std::string>& argv);

}  // namespace crowdiff::bench
