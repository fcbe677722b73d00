#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace crowdiff::gateway {

/// An HTTP request as handlers see it.
struct http_request {
  std::string method;  ///< "GET", "POST", ...
  std::string path;    ///< without the query string, percent-decoded
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  std::string peer;  ///< the client's IP address
  bool loopback = false;

  /// A header's value, or "" when absent.
  std::string header(const std::string& lower_name) const;
};

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

/// An HTTP/1.1 server on Boost.Beast: keep-alive, a body limit (413 beyond it), every response carrying the
/// CORS headers browsers need, OPTIONS preflights answered. Handlers run on the server's threads and may
/// answer later from any thread.
class http_server {
 public:
  struct options {
    std::string host = "0.0.0.0";
    uint16_t port = 7842;
    size_t max_body_bytes = 32u << 20;
    unsigned threads = 1;
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

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The CORS and identity headers on every response.
const std::vector<std::pair<std::string, std::string>>& common_headers();

/// Percent-decodes `text` ('+' stays '+'); false when an escape is malformed.
bool percent_decode(std::string_view text, std::string& out);

}  // namespace crowdiff::gateway
