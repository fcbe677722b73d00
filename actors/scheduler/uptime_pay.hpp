#pragma once

// Who is paid for being online, and for how many workers. Names are free to make, so uptime is counted per
// owner: only workers that are serving count (not in maintenance, and delivered an image within the work
// window: a worker that pops and never works earns nothing), and an owner is paid for at most
// `max_workers_per_owner` of them at once. No CAF, no clock: the Scheduler calls `due` at each uptime tick
// with its live workers and the time, and sends the Ledger what it returns.

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace crowdiff::scheduling {

struct uptime_rules {
  int64_t work_window_ms = 3'600'000;  ///< an image delivered within this makes a worker serving
  uint32_t max_workers_per_owner = 4;  ///< serving workers an owner is paid for at once
};

/// A live worker as uptime sees it.
struct uptime_worker {
  uint64_t owner = 0;
  bool maintenance = false;
  int64_t last_delivery_ms = 0;  ///< 0: never delivered
};

/// An owner's uptime reward: `workers` serving workers from `from_ms` to `to_ms`.
struct uptime_payment {
  uint64_t owner = 0;
  uint32_t workers = 0;
  int64_t from_ms = 0;
  int64_t to_ms = 0;
};

class uptime_pay {
 public:
  explicit uptime_pay(uptime_rules rules) : rules_(rules) {}

  /// What is owed at `now_ms` for the time since the previous call, per owner with serving workers. An owner
  /// seen for the first time (or whose workers were not serving) is paid from now on, never for time before.
  std::vector<uptime_payment> due(std::span<const uptime_worker> workers, int64_t now_ms);

 private:
  uptime_rules rules_;
  std::unordered_map<uint64_t, int64_t> paid_until_;  // owners with live workers: paid up to when
};

}  // namespace crowdiff::scheduling
