#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "gateway/http_request.hpp"

namespace crowdiff::gateway {

/// Answers one request, once, from any thread: a whole response, or a stream of chunks (Server-Sent
/// Events) until `close`.
class responder {
 public:
  virtual ~responder() = default;
  virtual void reply(unsigned status, std::string content_type, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
  /// Starts a streamed response (no length; it ends when the stream is closed).
  virtual void start_stream(std::string content_type) = 0;
  /// Sends a chunk of a streamed response; false once the client is gone.
  virtual bool send(std::string chunk) = 0;
  virtual void close() = 0;
  /// True once the connection is gone (a stream can stop producing).
  virtual bool closed() const = 0;
};

using request_handler = std::function<void(http_request&, std::shared_ptr<responder>)>;

/// An HTTP/1.1 server on Boost.Beast: keep-alive, every response carrying the CORS headers browsers need,
/// OPTIONS preflights answered. Handlers run on the server's threads and may answer later from any thread.
///
/// Hostile by default: a request whose path, query or header values are not UTF-8 is refused (400) before a
/// handler sees it; a handler that throws gets its request a 500 and the server goes on. Every connection has
/// deadlines (headers, body, idle keep-alive, each write), connections are capped in total and per address
/// (503 beyond), bodies being read are capped in total bytes and per address (503) and each (413), a
/// live-event stream whose reader falls behind is closed, and running out of descriptors makes the accept
/// loop back off, not spin.
class http_server {
 public:
  struct options {
    std::string host = "0.0.0.0";
    uint16_t port = 7842;
    size_t max_body_bytes = 32u << 20;
    unsigned threads = 1;
    std::chrono::milliseconds header_timeout{10'000};  ///< a new connection's request line and headers
    std::chrono::milliseconds body_timeout{60'000};    ///< a body, once its headers are in
    std::chrono::milliseconds idle_timeout{30'000};    ///< a kept-alive connection until its next request
    std::chrono::milliseconds write_timeout{60'000};   ///< one response (or stream chunk) to the client
    size_t max_connections = 2048;                     ///< lowered to what the descriptor limit allows
    size_t max_connections_per_ip = 64;
    size_t max_body_bytes_in_flight = 256u << 20;  ///< bodies being read, counted by their announced size
    size_t max_body_bytes_in_flight_per_ip = 64u << 20;  ///< the same, from one address
    size_t max_stream_backlog_bytes = 1u << 20;          ///< a stream's unsent bytes before it is closed
  };

  http_server(options opts, request_handler handler);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and starts serving; the bound port (useful with port 0). unavailable when the port cannot be
  /// bound.
  /// `before_serving(port)` runs once the port is bound and before any request is read (to publish state that
  /// handlers read without a lock).
  result<uint16_t> start(const std::function<void(uint16_t)>& before_serving = {});
  /// Stops accepting and closes connections; joins the threads.
  void stop();

  /// Connections open now, and the body bytes being read now (for tests and metrics).
  size_t connections() const;
  size_t body_bytes_in_flight() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The CORS and identity headers on every response.
const std::vector<std::pair<std::string, std::string>>& common_headers();

}  // namespace crowdiff::gateway
