#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.hpp"
#include "gateway/webhook_url.hpp"

namespace crowdiff::gateway {

/// How webhooks are delivered. The defaults are the node's (see GatewayConfig).
struct webhook_options {
  unsigned attempts = 5;  ///< tries per delivery, the first included
  /// The wait before the second try; it doubles for each further try, up to `max_backoff`.
  std::chrono::milliseconds backoff{1000};
  std::chrono::milliseconds max_backoff{300'000};
  /// One try, from resolving the host to reading the answer's status line; a receiver slower than this has
  /// failed that try.
  std::chrono::milliseconds timeout{10'000};
  size_t max_pending = 10'000;    ///< deliveries held at once (queued, in flight, or waiting to retry)
  unsigned max_connections = 32;  ///< tries in flight at once
  unsigned max_per_receiver = 4;  ///< tries in flight at once to one receiver (scheme, host and port)
  /// Trusted certificate authorities (a PEM file) for https receivers; empty: the system's.
  std::string ca_file;
  /// Also deliver https webhooks to loopback and private addresses (a receiver inside the core's own
  /// network). Off: such a try fails before it connects (see public_address).
  bool private_receivers = false;
};

/// POSTs JSON bodies to webhook URLs from a thread of its own, many at once, so a slow, dead or hanging
/// receiver holds up neither the gateway nor the other receivers. A try succeeds on a 2xx answer; any other
/// answer, a connection error, a certificate that does not verify for the host, or a try that outlives
/// `timeout` is retried after a backoff until `attempts` tries have failed, when the delivery is abandoned
/// (logged). Deliveries may arrive out of order, and a receiver that answered too late may see one twice.
class webhook_sender {
 public:
  /// Starts the sending thread. invalid_argument when `ca_file` cannot be loaded or an option is zero.
  static result<std::unique_ptr<webhook_sender>> start(const webhook_options& options);

  /// Stops (see stop()).
  ~webhook_sender();
  webhook_sender(const webhook_sender&) = delete;
  webhook_sender& operator=(const webhook_sender&) = delete;

  /// Called on the sending thread when a delivery has ended for good: answered with a 2xx, or abandoned
  /// after all its `attempts`. Not called for a delivery that send() refused or that stop() cut short, since
  /// a later process may still make it.
  using final_fn = std::function<void()>;

  /// Queues one delivery of `body` to `url`; never blocks on the network. False, with a warning logged (at
  /// most one a second, with the count), when `max_pending` deliveries are already held or the sender has
  /// stopped: the delivery is dropped.
  bool send(const webhook_url& url, std::string body, final_fn on_final = {});

  /// Ends delivery: every delivery still held gets one last try at once (waits for retries are cut short),
  /// all of them bounded by one `timeout`; what is left then is dropped and logged. Joins the thread.
  /// Idempotent.
  void stop();

  struct counters {
    uint64_t delivered = 0;  ///< answered with a 2xx
    uint64_t retried = 0;    ///< failed tries that were tried again
    uint64_t abandoned = 0;  ///< gave up after `attempts` tries (or at stop)
    uint64_t dropped = 0;    ///< refused by send(): the queue was full or the sender had stopped
    size_t pending = 0;      ///< held now
  };
  counters stats() const;

 private:
  struct impl;
  explicit webhook_sender(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace crowdiff::gateway
