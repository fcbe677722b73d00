#pragma once

// Images HTTP workers upload (the R2 stand-in) and have not submitted yet. A worker that uploads and never
// submits must not hold memory for long, nor many such workers much of it: each upload lives at most `ttl`
// and all of them together at most `max_bytes`. Not thread-safe (the gateway holds a mutex); the time is an
// argument.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/status.hpp"
#include "common/uuid.hpp"

namespace crowdiff::gateway {

class upload_store {
 public:
  upload_store(size_t max_bytes, int64_t ttl_ms) : max_bytes_(max_bytes), ttl_ms_(ttl_ms) {}

  /// Keeps `bytes` for `image` (replacing an earlier upload for it), after dropping what has expired.
  /// resource_exhausted, and nothing kept, when the total would pass the limit.
  status put(const uuid& image, std::string bytes, int64_t now_ms);

  /// Hands over and forgets the upload for `image`; nullopt when there is none or it has expired.
  std::optional<std::string> take(const uuid& image, int64_t now_ms);

  size_t bytes() const { return bytes_; }
  size_t size() const { return uploads_.size(); }

 private:
  struct upload {
    std::string bytes;
    int64_t when_ms = 0;
  };
  void expire(int64_t now_ms);
  void erase(std::map<uuid, upload>::iterator it);

  size_t max_bytes_;
  int64_t ttl_ms_;
  size_t bytes_ = 0;
  std::map<uuid, upload> uploads_;
  std::multimap<int64_t, uuid> by_time_;  // oldest first, so expiry does not scan every upload
};

}  // namespace crowdiff::gateway
