#include "common/connection_limiter.hpp"

#include <cstdint>
#include <sys/resource.h>

namespace crowdiff {

bool connection_limiter::admit(const std::string& address) {
  std::lock_guard lock{mutex_};
  if (connections_ >= limits_.connections)
    return false;
  auto& a = by_address_[address];
  if (a.connections >= limits_.connections_per_address) {
    forget_if_idle(address);
    return false;
  }
  ++a.connections;
  ++connections_;
  return true;
}

void connection_limiter::release(const std::string& address) {
  std::lock_guard lock{mutex_};
  auto it = by_address_.find(address);
  if (it == by_address_.end() || it->second.connections == 0)
    return;
  --it->second.connections;
  --connections_;
  forget_if_idle(address);
}

bool connection_limiter::take_bytes(const std::string& address, size_t n) {
  std::lock_guard lock{mutex_};
  if (n > limits_.bytes - bytes_)
    return false;
  auto& a = by_address_[address];
  if (n > limits_.bytes_per_address - a.bytes) {
    forget_if_idle(address);
    return false;
  }
  a.bytes += n;
  bytes_ += n;
  return true;
}

void connection_limiter::give_back_bytes(const std::string& address, size_t n) {
  std::lock_guard lock{mutex_};
  auto it = by_address_.find(address);
  if (it == by_address_.end())
    return;
  n = std::min(n, it->second.bytes);
  it->second.bytes -= n;
  bytes_ -= n;
  forget_if_idle(address);
}

void connection_limiter::set_max_connections(size_t n) {
  std::lock_guard lock{mutex_};
  limits_.connections = n;
}

size_t connection_limiter::max_connections() const {
  std::lock_guard lock{mutex_};
  return limits_.connections;
}

size_t connection_limiter::connections() const {
  std::lock_guard lock{mutex_};
  return connections_;
}

size_t connection_limiter::bytes() const {
  std::lock_guard lock{mutex_};
  return bytes_;
}

void connection_limiter::forget_if_idle(const std::string& address) {
  auto it = by_address_.find(address);
  if (it != by_address_.end() && it->second.connections == 0 && it->second.bytes == 0)
    by_address_.erase(it);
}

size_t raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return SIZE_MAX;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      lim = raised;
  }
  return lim.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(lim.rlim_cur);
}

}  // namespace crowdiff
