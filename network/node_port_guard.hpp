#pragma once

// The node port's guard: it listens where peers connect and hands CAF's middleman (published on loopback
// only) nothing but checked BASP frames. CAF 0.17 allocates whatever payload a header announces before any
// login; the guard reads each header first, refuses anything but a handshake before the handshake and any
// payload over the limit, buffers a frame's payload as its bytes actually arrive (so memory follows what a
// peer really sent, capped in all), and only then passes the frame on. A peer with too many requests
// pending, or sending too fast, is read no further until the core has answered or time has passed
// (peer_flow.hpp), and one that does not read what the core sends is dropped. Connections are capped in total
// and per address (as are the bytes buffered), a peer that has not finished its handshake in time is dropped,
// and so is one whose message does not arrive whole within the frame timeout.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.hpp"
#include "network/basp_frame.hpp"
#include "network/peer_flow.hpp"

namespace crowdiff {

class node_port_guard {
 public:
  struct options {
    std::string host;           ///< where peers connect; empty: every interface
    uint16_t port = 0;          ///< 0: any free port
    uint16_t backend_port = 0;  ///< CAF's middleman on 127.0.0.1
    node_guard::frame_limits limits;
    std::chrono::milliseconds handshake_timeout{10'000};
    size_t max_connections = 1024;
    size_t max_connections_per_ip = 32;
    size_t max_buffered_bytes = 512u << 20;         ///< payloads being buffered, all connections together
    size_t max_buffered_bytes_per_ip = 160u << 20;  ///< the same, from one address
    std::chrono::milliseconds frame_timeout{
        60'000};                   ///< a message, from its header to its last byte, each way
    node_guard::flow_limits flow;  ///< requests pending and messages a second, per connection (peer_flow.hpp)
    /// Set: peers connect with TLS, which ends here; the certificate (PEM chain) proves who the core is and
    /// peers need none (their API key says who they are, inside the encrypted connection).
    std::string tls_certificate;
    std::string tls_key;
    std::string tls_passphrase;
  };

  /// Binds and starts the guard's thread. unavailable when the port cannot be bound; invalid_argument when
  /// the certificate or key cannot be loaded.
  static result<std::unique_ptr<node_port_guard>> start(const options& opts);
  ~node_port_guard();
  node_port_guard(const node_port_guard&) = delete;
  node_port_guard& operator=(const node_port_guard&) = delete;

  uint16_t port() const;
  /// Connections open now, and payload bytes being buffered now (for tests and metrics).
  size_t connections() const;
  size_t buffered_bytes() const;
  /// Closes every connection and joins the thread. Idempotent.
  void stop();

 private:
  struct impl;
  explicit node_port_guard(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace crowdiff
