#pragma once

#include <cstdint>
#include <deque>

#include "protocol/messages.hpp"

namespace crowdiff::broker {

/// Delivered images per minute over the last 31 days, and totals since the network began (the totals start
/// from the workers' lifetime counts; the minutes are not persisted). Time is an argument.
class delivery_stats {
 public:
  /// Adds lifetime counts read at start.
  void add_lifetime(uint64_t images, double pixel_steps);
  /// One image of `megapixel_steps` delivered at `now_ms`.
  void record(int64_t now_ms, double megapixel_steps);
  /// The last minute, hour, day and month as of `now_ms`, and the totals.
  image_totals totals(int64_t now_ms) const;

 private:
  struct minute_bucket {
    int64_t minute = 0;
    uint64_t images = 0;
    double pixel_steps = 0;
  };
  std::deque<minute_bucket> minutes_;
  uint64_t total_images_ = 0;
  double total_pixel_steps_ = 0;
};

}  // namespace crowdiff::broker
