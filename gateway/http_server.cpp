#include "gateway/http_server.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/log.hpp"

namespace crowdiff::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void parse_query(std::string_view q, std::map<std::string, std::string>& out) {
  while (!q.empty()) {
    auto amp = q.find('&');
    auto pair = q.substr(0, amp);
    auto eq = pair.find('=');
    std::string key;
    std::string value;
    if (percent_decode(pair.substr(0, eq), key) &&
        (eq == std::string_view::npos || percent_decode(pair.substr(eq + 1), value)))
      out[key] = value;
    if (amp == std::string_view::npos)
      break;
    q.remove_prefix(amp + 1);
  }
}

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
  size_t max_body = 0;
  net::io_context io;

  std::mutex mutex;
  bool stopped = false;
  std::vector<std::weak_ptr<session>> sessions;  // to close at stop; expired ones pruned as they pile up
  size_t prune_at = 64;

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
  session(std::shared_ptr<server_core> core, tcp::socket socket)
      : core_(std::move(core)), stream_(std::move(socket)), max_body_(core_->max_body) {}

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
    if (closed_)
      return;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(max_body_);
    parser_->header_limit(64 * 1024);
    buffer_.clear();
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (closed_)
      return;  // closed by stop(): a request read just before is not handled
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset) {
      shutdown();
      return;
    }
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      write_response(413, "application/json", json_error("the request body is too large", "PayloadTooLarge"),
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
    req.method = std::string(msg.method_string());
    std::string_view target{msg.target().data(), msg.target().size()};
    auto qmark = target.find('?');
    if (!percent_decode(target.substr(0, qmark), req.path)) {
      write_response(400, "application/json", json_error("malformed path", "BadRequest"), {});
      return;
    }
    if (qmark != std::string_view::npos)
      parse_query(target.substr(qmark + 1), req.query);
    for (const auto& field : msg)
      req.headers[lower(std::string(field.name_string()))] = std::string(field.value());
    req.body = std::move(msg.body());
    beast::error_code ignored;
    auto endpoint = stream_.socket().remote_endpoint(ignored);
    req.peer = endpoint.address().to_string();
    req.loopback = endpoint.address().is_loopback();
    if (req.method == "OPTIONS") {
      write_response(204, "text/plain", "",
                     {{"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"},
                      {"Access-Control-Max-Age", "86400"}});
      return;
    }
    core_->handler(req, std::make_shared<bound_responder>(shared_from_this()));
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
    net::async_write(stream_.socket(), net::buffer(outbox_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         self->shutdown();
                         return;
                       }
                       self->outbox_.pop_front();
                       if (!self->outbox_.empty())
                         self->flush();
                       else if (self->closing_)
                         self->shutdown();
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
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  size_t max_body_;
  bool keep_alive_ = true;
  std::atomic<bool> closed_{false};
  bool closing_ = false;
  std::deque<std::string> outbox_;
};

}  // namespace

struct http_server::impl {
  options opts;
  std::shared_ptr<server_core> core = std::make_shared<server_core>();
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;

  void accept() {
    acceptor->async_accept(net::make_strand(core->io), [this](beast::error_code ec, tcp::socket socket) {
      // Closed by stop(): never accept again (an accept that failed otherwise, out of descriptors say, is
      // retried while the server runs).
      if (ec == net::error::operation_aborted || !acceptor->is_open())
        return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        auto s = std::make_shared<session>(core, std::move(socket));
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
      accept();
    });
  }
};

http_server::http_server(options opts, request_handler handler) : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
  impl_->core->handler = std::move(handler);
  impl_->core->max_body = impl_->opts.max_body_bytes;
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
  if (before_serving)
    before_serving(port);
  impl_->accept();
  for (unsigned i = 0; i < std::max(1u, impl_->opts.threads); ++i)
    impl_->threads.emplace_back([core = impl_->core.get()] { core->io.run(); });
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
  for (auto& s : live)
    s->shutdown();
  live.clear();
  core.io.poll();
  impl_->acceptor.reset();
}

const std::vector<std::pair<std::string, std::string>>& common_headers() {
  static const std::vector<std::pair<std::string, std::string>> headers = {
      {"Access-Control-Allow-Origin", "*"},
      {"Access-Control-Allow-Headers",
       "apikey, Client-Agent, X-Fields, Content-Type, Idempotency-Key, Proxied-For, Proxy-Authorization"},
      {"Access-Control-Expose-Headers", "Retry-After, Horde-Node"},
      {"Horde-Node", "crowdiff:0.1.0"}};
  return headers;
}

bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size())
      return false;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9')
        return c - '0';
      if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
      if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
      return -1;
    };
    int hi = hex(text[i + 1]);
    int lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0)
      return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string http_request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string{} : it->second;
}

}  // namespace crowdiff::gateway
