#include "gateway/http_server.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <sys/resource.h>
#include <thread>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/connection_limiter.hpp"
#include "common/io_service_thread.hpp"
#include "common/log.hpp"
#include "common/utf8.hpp"
#include "common/version.hpp"

namespace crowdiff::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string json_error(std::string_view message, std::string_view rc) {
  std::string out = "{\"message\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  out += "\",\"rc\":\"";
  out.append(rc);
  out += "\"}";
  return out;
}

class session;

// What the sessions share with the server. A session keeps it alive, so the io_context outlives every
// socket: a responder held by an actor may end the last session after the server is gone. Once `stopped`,
// nothing more is posted to the io_context (see http_server::stop()).
struct server_core {
  request_handler handler;
  http_server::options opts;
  net::io_context io;

  std::mutex mutex;
  bool stopped = false;
  std::vector<std::weak_ptr<session>> sessions;  // to close at stop; expired ones pruned as they pile up
  size_t prune_at = 64;
  // Open connections and the body bytes being read now, in all and by client address.
  std::optional<connection_limiter> limits;

  /// Posts `f` unless the server has stopped (then it is dropped; the connection is closed anyway).
  template <class Executor, class F>
  void post(const Executor& ex, F&& f) {
    std::lock_guard lock{mutex};
    if (!stopped)
      net::post(ex, std::forward<F>(f));
  }
};

class session : public std::enable_shared_from_this<session> {
 public:
  /// `address` has been admitted (server_core::admit); the session releases it when it closes.
  session(std::shared_ptr<server_core> core, tcp::socket socket, std::string address)
      : core_(std::move(core)), stream_(std::move(socket)), address_(std::move(address)) {}

  ~session() {
    unreserve();
    if (!released_)
      core_->limits->release(address_);
  }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  // Called through the responder, from any thread.
  void reply(unsigned status, std::string content_type, std::string body,
             std::vector<std::pair<std::string, std::string>> headers) {
    core_->post(stream_.get_executor(), [self = shared_from_this(), status, ct = std::move(content_type),
                                         body = std::move(body), headers = std::move(headers)]() mutable {
      self->write_response(status, std::move(ct), std::move(body), std::move(headers));
    });
  }

  void start_stream(std::string content_type) {
    core_->post(stream_.get_executor(), [self = shared_from_this(), ct = std::move(content_type)] {
      std::string head = "HTTP/1.1 200 OK\r\nContent-Type: " + ct +
                         "\r\nCache-Control: no-cache\r\nConnection: close\r\nX-Accel-Buffering: no\r\n";
      for (const auto& [k, v] : common_headers())
        head += k + ": " + v + "\r\n";
      head += "\r\n";
      self->enqueue_raw(std::move(head));
    });
  }

  bool send(std::string chunk) {
    if (closed_)
      return false;
    // A reader that falls behind by more than the backlog is closed rather than buffered for.
    if (backlog_.fetch_add(chunk.size()) + chunk.size() > core_->opts.max_stream_backlog_bytes) {
      log::warning("http_stream_dropped").kv("peer", address_).kv("reason", "the client does not read");
      core_->post(stream_.get_executor(), [self = shared_from_this()] { self->shutdown(); });
      return false;
    }
    core_->post(stream_.get_executor(), [self = shared_from_this(), chunk = std::move(chunk)]() mutable {
      self->enqueue_raw(std::move(chunk));
    });
    return true;
  }

  void close_stream() {
    core_->post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (self->outbox_.empty())
        self->shutdown();
    });
  }

  bool closed() const { return closed_; }

  /// Closes the connection (on the io_context's thread, or when none runs it).
  void shutdown() {
    if (closed_.exchange(true))
      return;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
    unreserve();
    if (!released_.exchange(true))
      core_->limits->release(address_);
  }

 private:
  using ms = std::chrono::milliseconds;

  void read() {
    parser_.emplace();
    parser_->body_limit(core_->opts.max_body_bytes);
    parser_->header_limit(16 * 1024);
    // A new connection gets the header deadline; a kept-alive one waits at most the idle time for its next
    // request. Either way a slow sender of headers is cut off.
    stream_.expires_after(requests_ == 0 ? core_->opts.header_timeout : core_->opts.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (closed_)
      return;
    if (ec) {
      on_read(ec);
      return;
    }
    // The body's buffer is sized by its announced length (a chunked one may grow to the limit): count that
    // before reading, so stalled uploads cannot hold more than the configured total.
    auto announced = parser_->content_length();
    size_t bytes =
        announced ? static_cast<size_t>(*announced) : (parser_->chunked() ? core_->opts.max_body_bytes : 0);
    if (bytes > 0) {
      if (!core_->limits->take_bytes(address_, bytes)) {
        keep_alive_ = false;
        write_response(503, "application/json",
                       json_error("the server is reading too many request bodies; try again", "ServerBusy"),
                       {{"Retry-After", "2"}});
        return;
      }
      reserved_ = bytes;
    }
    stream_.expires_after(core_->opts.body_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code read_ec, size_t) { self->on_read(read_ec); });
  }

  void unreserve() {
    if (auto n = std::exchange(reserved_, 0); n > 0)
      core_->limits->give_back_bytes(address_, n);
  }

  void on_read(beast::error_code ec) {
    if (closed_)
      return;  // closed by stop(): a request read just before is not handled
    unreserve();
    stream_.expires_never();
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == beast::error::timeout) {
      shutdown();
      return;
    }
    ++requests_;
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      write_response(413, "application/json", json_error("the request body is too large", "PayloadTooLarge"),
                     {});
      return;
    }
    if (ec == http::error::header_limit) {
      keep_alive_ = false;
      write_response(431, "application/json", json_error("the request headers are too large", "BadRequest"),
                     {});
      return;
    }
    if (ec) {
      keep_alive_ = false;
      write_response(400, "application/json", json_error("malformed HTTP request", "BadRequest"), {});
      return;
    }
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    http_request req;
    if (auto refused = to_request(msg, req); !refused.empty()) {
      write_response(400, "application/json", json_error(refused, "BadRequest"), {});
      return;
    }
    if (req.method == "OPTIONS") {
      write_response(204, "text/plain", "",
                     {{"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"},
                      {"Access-Control-Max-Age", "86400"}});
      return;
    }
    auto r = std::make_shared<bound_responder>(shared_from_this());
    try {
      core_->handler(req, r);
    } catch (const std::exception& e) {
      handler_failed(req, *r, e.what());
    } catch (...) {
      handler_failed(req, *r, "an exception that is not a std::exception");
    }
  }

  // The request as handlers see it; "" when it may go to them, else why it is refused.
  std::string to_request(http::request<http::string_body>& msg, http_request& req) {
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    for (const auto& f : msg)
      fields.emplace_back(std::string_view{f.name_string().data(), f.name_string().size()},
                          std::string_view{f.value().data(), f.value().size()});
    auto refused =
        make_request({msg.method_string().data(), msg.method_string().size()},
                     {msg.target().data(), msg.target().size()}, fields, std::move(msg.body()), req);
    req.peer = address_;
    beast::error_code ignored;
    req.loopback = stream_.socket().remote_endpoint(ignored).address().is_loopback();
    return refused;
  }

  static void handler_failed(const http_request& req, responder& r, const char* what) {
    log::error("http_handler_failed").kv("method", req.method).kv("path", req.path).kv("error", what);
    r.reply(500, "application/json", json_error("the server failed to answer this request", "InternalError"));
  }

  void write_response(unsigned status, std::string content_type, std::string body,
                      std::vector<std::pair<std::string, std::string>> headers) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "crowdiff");
    res->set(http::field::content_type, content_type);
    for (const auto& [k, v] : common_headers())
      res->set(k, v);
    for (const auto& [k, v] : headers)
      res->set(k, v);
    res->keep_alive(keep_alive_);
    res->body() = std::move(body);
    res->prepare_payload();
    stream_.expires_after(core_->opts.write_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec || !self->keep_alive_) {
        self->shutdown();
        return;
      }
      self->read();
    });
  }

  void enqueue_raw(std::string data) {
    if (closed_)
      return;
    outbox_.push_back(std::move(data));
    if (outbox_.size() == 1)
      flush();
  }

  void flush() {
    stream_.expires_after(core_->opts.write_timeout);
    net::async_write(stream_, net::buffer(outbox_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         self->shutdown();
                         return;
                       }
                       self->backlog_ -= std::min(self->backlog_.load(), self->outbox_.front().size());
                       self->outbox_.pop_front();
                       if (!self->outbox_.empty())
                         self->flush();
                       else if (self->closing_)
                         self->shutdown();
                       else
                         self->stream_.expires_never();
                     });
  }

  struct bound_responder : responder {
    explicit bound_responder(std::shared_ptr<session> s) : s_(std::move(s)) {}
    void reply(unsigned status, std::string content_type, std::string body,
               std::vector<std::pair<std::string, std::string>> headers) override {
      if (answered_.exchange(true))
        return;
      s_->reply(status, std::move(content_type), std::move(body), std::move(headers));
    }
    void start_stream(std::string content_type) override {
      if (answered_.exchange(true))
        return;
      s_->start_stream(std::move(content_type));
    }
    bool send(std::string chunk) override { return s_->send(std::move(chunk)); }
    void close() override { s_->close_stream(); }
    bool closed() const override { return s_->closed(); }
    std::shared_ptr<session> s_;
    std::atomic<bool> answered_{false};
  };

  std::shared_ptr<server_core> core_;  // first: released after the socket is gone
  beast::tcp_stream stream_;
  std::string address_;
  beast::flat_buffer buffer_{16 * 1024 + 4096};  // headers past the header limit never fit
  std::optional<http::request_parser<http::string_body>> parser_;
  size_t reserved_ = 0;  // body bytes counted in server_core::limits for the request being read
  size_t requests_ = 0;
  bool keep_alive_ = true;
  std::atomic<bool> closed_{false};
  std::atomic<bool> released_{false};
  bool closing_ = false;
  std::deque<std::string> outbox_;
  std::atomic<size_t> backlog_{0};  // bytes handed to send() and not yet written
};

// Best effort, without blocking: tells a client turned away at accept why, then closes.
void turn_away(tcp::socket& socket) {
  static const std::string busy = [] {
    std::string body = json_error("too many connections from this address, or in all", "Busy");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
           "Connection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  beast::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec)
    socket.write_some(net::buffer(busy), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

// The connections the descriptor limit leaves room for: half of what is left after 256 descriptors for the
// store, webhooks and the rest of the process (the node port guard takes the other half, at three
// descriptors a connection).
size_t descriptor_room(size_t wanted) {
  size_t limit = raise_descriptor_limit();
  if (limit == SIZE_MAX)
    return wanted;
  size_t room = limit > 512 ? (limit - 256) / 2 : limit / 4;
  return std::min(wanted, std::max<size_t>(room, 1));
}

}  // namespace

struct http_server::impl {
  options opts;
  std::shared_ptr<server_core> core = std::make_shared<server_core>();
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> backoff;
  std::vector<std::thread> threads;

  void accept() {
    acceptor->async_accept(net::make_strand(core->io), [this](beast::error_code ec, tcp::socket socket) {
      if (!keep_accepting(ec, *acceptor, *backoff, "http_accept_backoff", [this] { accept(); }))
        return;
      if (!ec)
        serve(std::move(socket));
      accept();
    });
  }

  void serve(tcp::socket socket) {
    beast::error_code ec;
    auto address = socket.remote_endpoint(ec).address().to_string();
    if (ec || !core->limits->admit(address)) {
      turn_away(socket);
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto s = std::make_shared<session>(core, std::move(socket), address);
    {
      std::lock_guard lock{core->mutex};
      if (core->stopped)
        return;
      auto& all = core->sessions;
      if (all.size() >= core->prune_at) {
        std::erase_if(all, [](const std::weak_ptr<session>& w) { return w.expired(); });
        core->prune_at = std::max<size_t>(64, 2 * all.size());
      }
      all.push_back(s);
    }
    s->start();
  }
};

http_server::http_server(options opts, request_handler handler) : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
  impl_->core->handler = std::move(handler);
  impl_->core->opts = impl_->opts;
  impl_->core->limits.emplace(connection_limiter::limits{
      impl_->opts.max_connections, impl_->opts.max_connections_per_ip, impl_->opts.max_body_bytes_in_flight,
      impl_->opts.max_body_bytes_in_flight_per_ip});
}

http_server::~http_server() {
  stop();
}

result<uint16_t> http_server::start(const std::function<void(uint16_t)>& before_serving) {
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->opts.host, ec);
  if (ec)
    return status{errc::invalid_argument, "bad listen address '" + impl_->opts.host + "'"};
  tcp::endpoint endpoint{address, impl_->opts.port};
  auto& acc = impl_->acceptor.emplace(impl_->core->io);
  acc.open(endpoint.protocol(), ec);
  if (!ec)
    acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acc.bind(endpoint, ec);
  if (!ec)
    acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return status{errc::unavailable, "cannot listen on " + impl_->opts.host + ":" +
                                         std::to_string(impl_->opts.port) + ": " + ec.message()};
  auto port = acc.local_endpoint().port();
  auto& core = *impl_->core;
  core.limits->set_max_connections(descriptor_room(impl_->opts.max_connections));
  if (core.limits->max_connections() < impl_->opts.max_connections)
    log::warning("http_connections_capped")
        .kv("configured", impl_->opts.max_connections)
        .kv("allowed", core.limits->max_connections())
        .kv("reason", "descriptor limit");
  impl_->backoff.emplace(core.io);
  if (before_serving)
    before_serving(port);
  impl_->accept();
  for (unsigned i = 0; i < std::max(1u, impl_->opts.threads); ++i)
    impl_->threads.push_back(io_service_thread(impl_->core->io, "http_thread"));
  return port;
}

void http_server::stop() {
  if (!impl_ || impl_->threads.empty())
    return;
  auto& core = *impl_->core;
  std::vector<std::shared_ptr<session>> live;
  {
    std::lock_guard lock{core.mutex};
    core.stopped = true;  // from now on responders post nothing
    for (auto& w : core.sessions)
      if (auto s = w.lock())
        live.push_back(std::move(s));
    core.sessions.clear();
  }
  core.io.stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
  impl_->threads.clear();
  // No thread runs the io_context now. Close the acceptor and every connection and run what is left: each
  // pending operation ends (aborted) and lets go of its session, so no session and io_context keep each
  // other alive. A session still held by a responder ends later, with the io_context it keeps.
  core.io.restart();
  beast::error_code ignored;
  if (impl_->acceptor)
    impl_->acceptor->close(ignored);
  if (impl_->backoff)
    impl_->backoff->cancel();
  for (auto& s : live)
    s->shutdown();
  live.clear();
  core.io.poll();
  impl_->acceptor.reset();
}

size_t http_server::connections() const {
  return impl_->core->limits->connections();
}

size_t http_server::body_bytes_in_flight() const {
  return impl_->core->limits->bytes();
}

const std::vector<std::pair<std::string, std::string>>& common_headers() {
  static const std::vector<std::pair<std::string, std::string>> headers = {
      {"Access-Control-Allow-Origin", "*"},
      {"Access-Control-Allow-Headers",
       "apikey, Client-Agent, X-Fields, Content-Type, Idempotency-Key, Proxied-For, Proxy-Authorization"},
      {"Access-Control-Expose-Headers", "Retry-After, Horde-Node"},
      {"Horde-Node", "crowdiff:" + std::string(version())}};
  return headers;
}

}  // namespace crowdiff::gateway
