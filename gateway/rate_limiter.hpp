#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace crowdiff::gateway {

/// Token buckets keyed by a string (an API key or an IP address): `rate` tokens a second, at most `burst`.
class rate_limiter {
 public:
  rate_limiter(double rate, double burst) : rate_(rate), burst_(burst) {}

  /// Takes a token for `key` at `now_ms`. 0 when allowed; otherwise the seconds to wait (for Retry-After).
  int64_t take(const std::string& key, int64_t now_ms);

 private:
  struct bucket {
    double tokens;
    int64_t updated_ms;
  };
  double rate_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
  int64_t last_sweep_ms_ = 0;
};

}  // namespace crowdiff::gateway
