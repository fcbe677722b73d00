#include "gateway/upload_store.hpp"

namespace crowdiff::gateway {

void upload_store::erase(std::map<uuid, upload>::iterator it) {
  auto [first, last] = by_time_.equal_range(it->second.when_ms);
  for (auto t = first; t != last; ++t) {
    if (t->second == it->first) {
      by_time_.erase(t);
      break;
    }
  }
  bytes_ -= it->second.bytes.size();
  uploads_.erase(it);
}

void upload_store::expire(int64_t now_ms) {
  while (!by_time_.empty() && now_ms - by_time_.begin()->first > ttl_ms_) {
    auto id = by_time_.begin()->second;
    erase(uploads_.find(id));
  }
}

status upload_store::put(const uuid& image, std::string bytes, int64_t now_ms) {
  expire(now_ms);
  if (auto old = uploads_.find(image); old != uploads_.end())
    erase(old);
  if (bytes.size() > max_bytes_ - bytes_)
    return status{errc::resource_exhausted, "uploads waiting for their submit hold " +
                                                std::to_string(bytes_) + " bytes, the most allowed is " +
                                                std::to_string(max_bytes_)};
  bytes_ += bytes.size();
  by_time_.emplace(now_ms, image);
  uploads_.emplace(image, upload{std::move(bytes), now_ms});
  return status::ok();
}

std::optional<std::string> upload_store::take(const uuid& image, int64_t now_ms) {
  expire(now_ms);
  auto it = uploads_.find(image);
  if (it == uploads_.end())
    return std::nullopt;
  std::string bytes = std::move(it->second.bytes);
  bytes_ -= bytes.size();
  it->second.bytes.clear();
  erase(it);
  return bytes;
}

}  // namespace crowdiff::gateway
