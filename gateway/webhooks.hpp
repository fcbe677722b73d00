#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace crowdiff::gateway {

/// POSTs JSON to clients' webhook URLs (https, or http on loopback) from its own thread, retrying a failed or
/// non-2xx delivery with exponential backoff (1 s, 2 s, 4 s, ...) up to `attempts` times, so a slow or dead
/// receiver never holds up the gateway.
class webhook_sender {
 public:
  explicit webhook_sender(unsigned attempts);
  ~webhook_sender();
  webhook_sender(const webhook_sender&) = delete;
  webhook_sender& operator=(const webhook_sender&) = delete;

  void send(std::string url, std::string body);

  /// Delivered and given-up counts (for tests and logs).
  uint64_t delivered() const;
  uint64_t abandoned() const;

 private:
  struct delivery {
    std::string url;
    std::string body;
    unsigned attempt = 0;
    int64_t not_before_ms = 0;
  };
  void loop();

  unsigned attempts_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<delivery> queue_;
  bool stopping_ = false;
  uint64_t delivered_ = 0;
  uint64_t abandoned_ = 0;
  std::thread thread_;
};

/// One POST; true for a 2xx answer. Exposed for tests.
bool post_json(const std::string& url, const std::string& body, std::string& error);

}  // namespace crowdiff::gateway
