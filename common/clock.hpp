#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace crowdiff {

/// Milliseconds since the Unix epoch. Everything crowdiff stores or compares across restarts uses it.
inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A source of wall time; tests substitute their own.
using clock_fn = std::function<int64_t()>;

}  // namespace crowdiff
