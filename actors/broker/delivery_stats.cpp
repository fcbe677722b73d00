#include "actors/broker/delivery_stats.hpp"

namespace crowdiff::broker {
namespace {
constexpr int64_t minutes_kept = 31 * 1440;
}

void delivery_stats::add_lifetime(uint64_t images, double pixel_steps) {
  total_images_ += images;
  total_pixel_steps_ += pixel_steps;
}

void delivery_stats::record(int64_t now_ms, double megapixel_steps) {
  int64_t minute = now_ms / 60'000;
  if (minutes_.empty() || minutes_.back().minute != minute)
    minutes_.push_back({minute, 0, 0});
  minutes_.back().images += 1;
  minutes_.back().pixel_steps += megapixel_steps * 1e6;
  total_images_ += 1;
  total_pixel_steps_ += megapixel_steps * 1e6;
  while (!minutes_.empty() && minutes_.front().minute < minute - minutes_kept)
    minutes_.pop_front();
}

image_totals delivery_stats::totals(int64_t now_ms) const {
  image_totals t;
  int64_t minute = now_ms / 60'000;
  for (const auto& b : minutes_) {
    int64_t age = minute - b.minute;
    if (age < 1) {
      t.minute_images += b.images;
      t.minute_ps += b.pixel_steps;
    }
    if (age < 60) {
      t.hour_images += b.images;
      t.hour_ps += b.pixel_steps;
    }
    if (age < 1440) {
      t.day_images += b.images;
      t.day_ps += b.pixel_steps;
    }
    t.month_images += b.images;
    t.month_ps += b.pixel_steps;
  }
  t.total_images = total_images_;
  t.total_ps = total_pixel_steps_;
  return t;
}

}  // namespace crowdiff::broker
