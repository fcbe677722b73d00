#include "gateway/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace crowdiff::gateway {

int64_t rate_limiter::take(const std::string& key, int64_t now_ms) {
  std::lock_guard lock{mutex_};
  // Forget idle buckets now and then so the map does not grow without bound.
  if (now_ms - last_sweep_ms_ > 60'000) {
    last_sweep_ms_ = now_ms;
    std::erase_if(buckets_, [&](const auto& kv) { return now_ms - kv.second.updated_ms > 60'000; });
  }
  auto [it, fresh] = buckets_.try_emplace(key, bucket{burst_, now_ms});
  auto& b = it->second;
  if (!fresh) {
    b.tokens = std::min(burst_, b.tokens + rate_ * static_cast<double>(now_ms - b.updated_ms) / 1000.0);
    b.updated_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - b.tokens) / rate_)));
}

}  // namespace crowdiff::gateway
