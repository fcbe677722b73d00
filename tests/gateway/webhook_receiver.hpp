#pragma once

// A test double for a requester's webhook endpoint: an HTTP (or HTTPS) server on an ephemeral loopback port,
// on a thread of its own, that records every request and answers 200, 500 to the first few, or never.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace crowdiff::testing {

class webhook_receiver {
 public:
  struct options {
    unsigned fail_first = 0;  ///< answer 500 to this many requests, then 200
    bool hang = false;        ///< read requests but never answer (the connection stays open until stop)
    /// Serve HTTPS with this context (its certificate and key set); null: plain HTTP.
    std::shared_ptr<boost::asio::ssl::context> tls;
  };

  struct request {
    std::string method;
    std::string target;
    std::string content_type;
    std::string body;
    unsigned answered = 0;  ///< the status sent; 0 while hanging
    std::chrono::steady_clock::time_point at;
  };

  /// Answers 500 to the first `n` requests, then 200.
  static options failing_first(unsigned n) {
    options o;
    o.fail_first = n;
    return o;
  }
  /// Reads requests and never answers.
  static options never_answering() {
    options o;
    o.hang = true;
    return o;
  }
  /// Serves HTTPS with `tls`.
  static options over_tls(std::shared_ptr<boost::asio::ssl::context> tls) {
    options o;
    o.tls = std::move(tls);
    return o;
  }

  webhook_receiver() : webhook_receiver(options{}) {}
  explicit webhook_receiver(options o) : options_(std::move(o)), acceptor_(io_) {
    namespace net = boost::asio;
    net::ip::tcp::endpoint where{net::ip::make_address("127.0.0.1"), 0};
    acceptor_.open(where.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(where);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~webhook_receiver() { stop(); }
  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  uint16_t port() const { return port_; }
  /// The URL of `path` here, through `host` (127.0.0.1, localhost, ...).
  std::string url(const std::string& path = "/hook", const std::string& host = "127.0.0.1") const {
    return std::string(options_.tls ? "https://" : "http://") + host + ":" + std::to_string(port_) + path;
  }

  /// From now on, answer every request with 500 (true) or as the options say (false).
  void refuse_all(bool refuse) {
    std::lock_guard lock{mutex_};
    refusing_ = refuse;
  }

  std::vector<request> requests() const {
    std::lock_guard lock{mutex_};
    return requests_;
  }

  /// Waits until `pred(requests)` holds (checked at every change); false after `limit`.
  bool wait_until(const std::function<bool(const std::vector<request>&)>& pred,
                  std::chrono::milliseconds limit = std::chrono::seconds(30)) const {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, limit, [&] { return pred(requests_); });
  }
  bool wait_for(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(30)) const {
    return wait_until([n](const std::vector<request>& r) { return r.size() >= n; }, limit);
  }
  /// Waits until `n` TLS handshakes have failed here (the client's refusal reaches the server a moment after
  /// the client gave up); false after `limit`.
  bool wait_for_failed_handshakes(unsigned n,
                                  std::chrono::milliseconds limit = std::chrono::seconds(30)) const {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, limit, [&] { return failed_handshakes_ >= n; });
  }

  /// Closes every connection (hanging ones too) and joins the thread. Idempotent.
  void stop() {
    if (!thread_.joinable())
      return;
    boost::asio::post(io_, [this] {
      boost::beast::error_code ec;
      acceptor_.close(ec);
      for (auto& close : closers_)
        close();
      closers_.clear();
      hung_.clear();
      io_.stop();
    });
    thread_.join();
  }

 private:
  template <class Stream>
  struct session : std::enable_shared_from_this<session<Stream>> {
    template <class... Args>
    session(webhook_receiver& o, Args&&... args) : owner(o), stream(std::forward<Args>(args)...) {}

    void start() {
      auto self = this->shared_from_this();
      if constexpr (std::is_same_v<Stream, boost::beast::tcp_stream>) {
        read();
      } else {
        stream.async_handshake(boost::asio::ssl::stream_base::server,
                               [self](const boost::beast::error_code& ec) {
                                 if (ec) {
                                   std::lock_guard lock{self->owner.mutex_};
                                   ++self->owner.failed_handshakes_;
                                   self->owner.changed_.notify_all();
                                   return;
                                 }
                                 self->read();
                               });
      }
    }

    void read() {
      auto self = this->shared_from_this();
      boost::beast::http::async_read(stream, buffer, req, [self](const boost::beast::error_code& ec, size_t) {
        if (ec)
          return;
        self->answer();
      });
    }

    void answer() {
      namespace http = boost::beast::http;
      auto& o = owner;
      unsigned code = 0;
      {
        std::lock_guard lock{o.mutex_};
        if (!o.options_.hang)
          code = o.refusing_ || o.requests_.size() < o.options_.fail_first ? 500 : 200;
        o.requests_.push_back({std::string(req.method_string()), std::string(req.target()),
                               std::string(req[http::field::content_type]), req.body(), code,
                               std::chrono::steady_clock::now()});
        o.changed_.notify_all();
      }
      if (code == 0) {
        o.hung_.push_back(this->shared_from_this());  // held open, unanswered, until the receiver stops
        return;
      }
      res.result(code);
      res.version(11);
      res.set(http::field::content_type, "text/plain");
      res.keep_alive(false);
      res.body() = code == 200 ? "ok" : "try again";
      res.prepare_payload();
      auto self = this->shared_from_this();
      http::async_write(stream, res, [self](const boost::beast::error_code&, size_t) {
        boost::beast::error_code ignored;
        boost::beast::get_lowest_layer(self->stream)
            .socket()
            .shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
      });
    }

    webhook_receiver& owner;
    Stream stream;
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::beast::http::response<boost::beast::http::string_body> res;
  };

  template <class Stream, class... Args>
  void serve(Args&&... args) {
    auto s = std::make_shared<session<Stream>>(*this, std::forward<Args>(args)...);
    closers_.push_back([weak = std::weak_ptr<session<Stream>>(s)] {
      if (auto live = weak.lock()) {
        boost::beast::error_code ignored;
        boost::beast::get_lowest_layer(live->stream).socket().close(ignored);
      }
    });
    s->start();
  }

  void accept() {
    acceptor_.async_accept([this](const boost::beast::error_code& ec, boost::asio::ip::tcp::socket socket) {
      if (ec)
        return;
      if (options_.tls)
        serve<boost::beast::ssl_stream<boost::beast::tcp_stream>>(std::move(socket), *options_.tls);
      else
        serve<boost::beast::tcp_stream>(std::move(socket));
      accept();
    });
  }

  options options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  // The receiver's thread only.
  std::vector<std::function<void()>> closers_;  // one per connection, to close it at stop
  std::vector<std::shared_ptr<void>> hung_;     // sessions that never answer
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<request> requests_;
  unsigned failed_handshakes_ = 0;
  bool refusing_ = false;
  std::thread thread_;
};

}  // namespace crowdiff::testing
