#pragma once

// The peer's side of a core that proves who it is with TLS and asks peers for no certificate (as HTTPS does):
// CAF's OpenSSL module only does mutual TLS, so workers and clients without a certificate connect CAF, in
// plain text, to this tunnel on loopback, which carries the bytes to the core over TLS after checking the
// core's certificate (a CA file, or the system's authorities) and that it is made out to the host dialled.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.hpp"

namespace crowdiff {

class tls_tunnel {
 public:
  struct options {
    std::string host;  ///< the core, as dialled (its certificate must name it)
    uint16_t port = 0;
    std::string ca_file;  ///< trusted authorities (PEM); empty: the system's
    std::chrono::milliseconds connect_timeout{10'000};
    size_t max_connections = 16;  ///< CAF opens one per core; reconnects come and go
  };

  /// Starts listening on 127.0.0.1 (a port of the kernel's choosing) and its thread. invalid_argument when
  /// the CA file cannot be loaded.
  static result<std::unique_ptr<tls_tunnel>> start(const options& opts);
  ~tls_tunnel();
  tls_tunnel(const tls_tunnel&) = delete;
  tls_tunnel& operator=(const tls_tunnel&) = delete;

  /// Where to point CAF: 127.0.0.1 and this port.
  uint16_t port() const;
  /// Closes every connection and joins the thread. Idempotent.
  void stop();

 private:
  struct impl;
  explicit tls_tunnel(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace crowdiff
