#pragma once

// What strangers may hold at once on a listening port: connections, and the bytes those connections make the
// process hold, each counted in all and per client address against caps. One home for the HTTP server's and
// the node port guard's accounting. Thread-safe.

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace crowdiff {

class connection_limiter {
 public:
  struct limits {
    size_t connections = 1024;
    size_t connections_per_address = 64;
    size_t bytes = 256u << 20;
    size_t bytes_per_address = 64u << 20;
  };

  explicit connection_limiter(limits l) : limits_(l) {}

  /// Counts a connection from `address`; false, and nothing counted, when a cap is reached.
  bool admit(const std::string& address);
  /// Ends a connection counted by admit.
  void release(const std::string& address);

  /// Counts `n` bytes held for a connection from `address`; false, and nothing counted, when that would pass
  /// the total or the address's cap.
  bool take_bytes(const std::string& address, size_t n);
  /// Returns bytes counted by take_bytes.
  void give_back_bytes(const std::string& address, size_t n);

  /// Lowers (or raises) the connection cap, for instance to what the descriptor limit allows.
  void set_max_connections(size_t n);
  size_t max_connections() const;

  size_t connections() const;
  size_t bytes() const;

 private:
  struct per_address {
    size_t connections = 0;
    size_t bytes = 0;
  };
  void forget_if_idle(const std::string& address);

  mutable std::mutex mutex_;
  limits limits_;
  size_t connections_ = 0;
  size_t bytes_ = 0;
  std::unordered_map<std::string, per_address> by_address_;
};

/// Raises the process's soft descriptor limit to its hard limit and returns it (SIZE_MAX when unlimited). The
/// listeners size their connection caps from it.
size_t raise_descriptor_limit();

}  // namespace crowdiff
