#include "gateway/webhooks.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/clock.hpp"
#include "common/log.hpp"

namespace crowdiff::gateway {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

struct delivery {
  webhook_url url;
  std::string body;
  webhook_sender::final_fn on_final;
  unsigned failed = 0;  // tries that failed so far
};

/// One try in flight; the sender aborts it at the drain deadline.
class attempt_base {
 public:
  virtual ~attempt_base() = default;
  virtual void abort() = 0;
};

}  // namespace

struct webhook_sender::impl {
  explicit impl(const webhook_options& o) : options(o), tls(net::ssl::context::tls_client) {}

  // Any thread.
  bool send(const webhook_url& url, std::string body, final_fn on_final);
  void stop();

  // The sending thread only.
  template <class Stream>
  class attempt;
  void enqueue(delivery d);
  void pump();
  template <class Stream, class... StreamArgs>
  void launch(delivery d, StreamArgs&&... args);
  void on_done(const std::shared_ptr<attempt_base>& a, delivery d, bool ok, const std::string& error);
  void settle();
  void begin_drain();
  void close_drain();

  webhook_options options;
  net::io_context io;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  net::ssl::context tls;
  std::thread thread;

  // Shared with send() and stats().
  mutable std::mutex mutex;
  bool accepting = true;
  counters totals;
  uint64_t drops_unlogged = 0;
  int64_t last_drop_log_ms = 0;

  // The sending thread only.
  struct receiver {
    std::deque<delivery> queue;
    unsigned in_flight = 0;
    bool ready = false;  // listed in `ready`
  };
  std::map<std::string, receiver> receivers;  // by origin
  std::deque<std::string> ready;              // receivers with queued work and a free slot, in turn
  unsigned in_flight = 0;
  std::set<std::shared_ptr<attempt_base>> attempts;
  std::set<std::shared_ptr<net::steady_timer>> backoffs;
  bool draining = false;
  bool closed = false;  // the drain deadline passed: nothing more is tried
  std::optional<net::steady_timer> drain_deadline;
};

template <class Stream>
class webhook_sender::impl::attempt final : public attempt_base,
                                            public std::enable_shared_from_this<attempt<Stream>> {
 public:
  template <class... StreamArgs>
  attempt(impl& owner, delivery d, StreamArgs&&... args)
      : owner_(owner),
        d_(std::move(d)),
        resolver_(owner.io),
        stream_(std::forward<StreamArgs>(args)...),
        deadline_(owner.io) {}

  void start() {
    auto self = this->shared_from_this();
    req_.method(http::verb::post);
    req_.target(d_.url.target);
    req_.version(11);
    bool default_port = d_.url.port == (d_.url.tls ? "443" : "80");
    bool v6 = d_.url.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + d_.url.host + "]" : d_.url.host;
    req_.set(http::field::host, default_port ? host : host + ":" + d_.url.port);
    req_.set(http::field::user_agent, "crowdiff-webhook/0.1");
    req_.set(http::field::content_type, "application/json");
    req_.set(http::field::connection, "close");
    req_.body() = d_.body;
    req_.prepare_payload();
    deadline_.expires_after(owner_.options.timeout);
    // The deadline ends the try at once: a continuation already queued when it fires (a resolve that just
    // finished, say) sees `finished_` and stops, so nothing runs on without a timer.
    deadline_.async_wait([self](const beast::error_code& ec) {
      if (!ec) {
        self->timed_out_ = true;
        self->fail(ec);
      }
    });
    resolver_.async_resolve(
        d_.url.host, d_.url.port,
        [self](const beast::error_code& ec, const tcp::resolver::results_type& found) {
          if (self->finished_)
            return;
          if (ec)
            return self->fail(ec);
          // Plain http goes only to loopback (webhook_url); https only to public addresses unless allowed.
          // Checked on what the name resolves to now, so a name that points inside is refused too.
          std::vector<tcp::endpoint> allowed;
          for (const auto& entry : found)
            if (!secure || self->owner_.options.private_receivers ||
                public_address(entry.endpoint().address().to_string()))
              allowed.push_back(entry.endpoint());
          if (allowed.empty())
            return self->done(false, "the host resolves to a loopback, private or reserved address");
          beast::get_lowest_layer(self->stream_)
              .async_connect(
                  allowed, [self](const beast::error_code& e, const tcp::endpoint&) { self->on_connect(e); });
        });
  }

  void abort() override {
    resolver_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

 private:
  static constexpr bool secure = !std::is_same_v<Stream, beast::tcp_stream>;

  void on_connect(const beast::error_code& ec) {
    if (finished_)
      return;
    if (ec)
      return fail(ec);
    auto self = this->shared_from_this();
    if constexpr (secure) {
      // SNI names hosts only, never addresses (RFC 6066); the certificate must match either.
      if (!is_ip_literal(d_.url.host))
        SSL_set_tlsext_host_name(stream_.native_handle(), d_.url.host.c_str());
      stream_.set_verify_mode(net::ssl::verify_peer);
      stream_.set_verify_callback(net::ssl::host_name_verification(d_.url.host));
      stream_.async_handshake(net::ssl::stream_base::client, [self](const beast::error_code& e) {
        if (self->finished_)
          return;
        if (e)
          return self->fail(e);
        self->write();
      });
    } else {
      write();
    }
  }

  void write() {
    auto self = this->shared_from_this();
    http::async_write(stream_, req_, [self](const beast::error_code& ec, size_t) {
      if (self->finished_)
        return;
      if (ec)
        return self->fail(ec);
      // The status line and headers say it all; the body, if any, is not read.
      http::async_read_header(self->stream_, self->buffer_, self->res_,
                              [self](const beast::error_code& e, size_t) {
                                if (self->finished_)
                                  return;
                                if (e)
                                  return self->fail(e);
                                unsigned code = self->res_.get().result_int();
                                if (code / 100 == 2)
                                  return self->done(true, {});
                                self->done(false, "HTTP " + std::to_string(code));
                              });
    });
  }

  void fail(const beast::error_code& ec) {
    done(false, timed_out_ ? "no answer within " + std::to_string(owner_.options.timeout.count()) + " ms"
                           : ec.message());
  }

  void done(bool ok, const std::string& error) {
    if (finished_)
      return;
    finished_ = true;
    deadline_.cancel();
    abort();
    owner_.on_done(this->shared_from_this(), std::move(d_), ok, error);
  }

  impl& owner_;
  delivery d_;
  tcp::resolver resolver_;
  Stream stream_;
  net::steady_timer deadline_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::empty_body> res_;
  bool timed_out_ = false;
  bool finished_ = false;
};

bool webhook_sender::impl::send(const webhook_url& url, std::string body, final_fn on_final) {
  {
    std::lock_guard lock{mutex};
    if (!accepting || totals.pending >= options.max_pending) {
      ++totals.dropped;
      ++drops_unlogged;
      int64_t now = wall_ms();
      if (now - last_drop_log_ms >= 1000) {
        log::warning("webhook_dropped")
            .kv("to", url.origin())
            .kv("reason", accepting ? "queue_full" : "stopped")
            .kv("pending", totals.pending)
            .kv("dropped", drops_unlogged)
            .kv("dropped_total", totals.dropped);
        drops_unlogged = 0;
        last_drop_log_ms = now;
      }
      return false;
    }
    ++totals.pending;
  }
  net::post(io, [this, d = delivery{url, std::move(body), std::move(on_final), 0}]() mutable {
    enqueue(std::move(d));
  });
  return true;
}

void webhook_sender::impl::enqueue(delivery d) {
  if (closed) {
    std::lock_guard lock{mutex};
    ++totals.abandoned;
    settle();
    return;
  }
  auto key = d.url.origin();
  auto& r = receivers[key];
  r.queue.push_back(std::move(d));
  if (!r.ready && r.in_flight < options.max_per_receiver) {
    r.ready = true;
    ready.push_back(key);
  }
  pump();
}

// Starts tries while connections are free, taking receivers in turn so a busy one cannot starve the others.
void webhook_sender::impl::pump() {
  while (!closed && in_flight < options.max_connections && !ready.empty()) {
    auto key = std::move(ready.front());
    ready.pop_front();
    auto it = receivers.find(key);
    if (it == receivers.end())
      continue;
    auto& r = it->second;
    r.ready = false;
    if (r.queue.empty() || r.in_flight >= options.max_per_receiver)
      continue;
    delivery d = std::move(r.queue.front());
    r.queue.pop_front();
    ++r.in_flight;
    ++in_flight;
    if (!r.queue.empty() && r.in_flight < options.max_per_receiver) {
      r.ready = true;
      ready.push_back(key);
    }
    if (d.url.tls)
      launch<beast::ssl_stream<beast::tcp_stream>>(std::move(d), io, tls);
    else
      launch<beast::tcp_stream>(std::move(d), io);
  }
}

template <class Stream, class... StreamArgs>
void webhook_sender::impl::launch(delivery d, StreamArgs&&... args) {
  auto a = std::make_shared<attempt<Stream>>(*this, std::move(d), std::forward<StreamArgs>(args)...);
  attempts.insert(a);
  a->start();
}

void webhook_sender::impl::on_done(const std::shared_ptr<attempt_base>& a, delivery d, bool ok,
                                   const std::string& error) {
  attempts.erase(a);
  --in_flight;
  auto key = d.url.origin();
  auto& r = receivers[key];
  --r.in_flight;
  if (ok) {
    // Before the counters say the delivery is over, so whoever waits on them sees its outcome recorded.
    if (d.on_final)
      d.on_final();
    std::lock_guard lock{mutex};
    ++totals.delivered;
    settle();
  } else if (!draining && d.failed + 1 < options.attempts) {
    ++d.failed;
    auto wait = options.backoff;
    for (unsigned i = 1; i < d.failed && wait < options.max_backoff; ++i)
      wait *= 2;
    wait = std::min(wait, options.max_backoff);
    log::info("webhook_retry")
        .kv("to", key)
        .kv("failed", d.failed)
        .kv("error", error)
        .kv("retry_in_ms", static_cast<int64_t>(wait.count()));
    {
      std::lock_guard lock{mutex};
      ++totals.retried;
    }
    auto timer = std::make_shared<net::steady_timer>(io, wait);
    backoffs.insert(timer);
    // Cancelled at stop, when the retry is made at once.
    timer->async_wait([this, timer, d = std::move(d)](const beast::error_code&) mutable {
      backoffs.erase(timer);
      enqueue(std::move(d));
    });
  } else {
    log::warning("webhook_abandoned").kv("to", key).kv("tries", d.failed + 1).kv("error", error);
    // Given up for good only when every try was made in full; one cut short by stop() (its retry brought
    // forward, or ended by the drain deadline) is not final.
    if (!draining && d.failed + 1 >= options.attempts && d.on_final)
      d.on_final();
    std::lock_guard lock{mutex};
    ++totals.abandoned;
    settle();
  }
  if (r.in_flight == 0 && r.queue.empty())
    receivers.erase(key);
  else if (!r.ready && !r.queue.empty() && r.in_flight < options.max_per_receiver) {
    r.ready = true;
    ready.push_back(key);
  }
  pump();
}

// One delivery is over (with `mutex` held).
void webhook_sender::impl::settle() {
  --totals.pending;
  if (draining && totals.pending == 0 && drain_deadline)
    drain_deadline->cancel();
}

void webhook_sender::impl::begin_drain() {
  draining = true;
  work.reset();
  for (auto timer : std::set(backoffs))
    timer->cancel();
  drain_deadline.emplace(io, options.timeout);
  drain_deadline->async_wait([this](const beast::error_code& ec) {
    if (!ec)
      close_drain();
  });
  std::lock_guard lock{mutex};
  if (totals.pending == 0)
    drain_deadline->cancel();
}

void webhook_sender::impl::close_drain() {
  closed = true;
  size_t left = 0;
  {
    std::lock_guard lock{mutex};
    left = totals.pending;
    for (auto& [key, r] : receivers) {
      for (size_t i = 0; i < r.queue.size(); ++i) {
        ++totals.abandoned;
        settle();
      }
      r.queue.clear();
    }
  }
  if (left > 0)
    log::warning("webhook_undelivered_at_stop").kv("deliveries", left);
  // Tries still in flight end now, as failures (abandoned, since the sender is draining).
  for (const auto& a : std::set(attempts))
    a->abort();
}

void webhook_sender::impl::stop() {
  {
    std::lock_guard lock{mutex};
    if (!accepting)
      return;
    accepting = false;
  }
  net::post(io, [this] { begin_drain(); });
  if (thread.joinable())
    thread.join();
  std::lock_guard lock{mutex};
  if (drops_unlogged > 0)
    log::warning("webhook_dropped").kv("dropped", drops_unlogged).kv("dropped_total", totals.dropped);
}

// -- the public face
// -------------------------------------------------------------------------------------------

result<std::unique_ptr<webhook_sender>> webhook_sender::start(const webhook_options& options) {
  if (options.attempts == 0 || options.backoff.count() <= 0 || options.timeout.count() <= 0 ||
      options.max_pending == 0 || options.max_connections == 0 || options.max_per_receiver == 0)
    return status{errc::invalid_argument, "webhook options must all be positive"};
  auto p = std::make_unique<impl>(options);
  p->options.max_backoff = std::max(p->options.max_backoff, p->options.backoff);
  beast::error_code ec;
  if (options.ca_file.empty())
    p->tls.set_default_verify_paths(ec);
  else
    p->tls.load_verify_file(options.ca_file, ec);
  if (ec)
    return status{errc::invalid_argument,
                  "webhook certificate authorities" +
                      (options.ca_file.empty() ? std::string{} : " '" + options.ca_file + "'") + ": " +
                      ec.message()};
  p->tls.set_verify_mode(net::ssl::verify_peer);
  p->work.emplace(p->io.get_executor());
  auto* raw = p.get();
  p->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<webhook_sender>{new webhook_sender(std::move(p))};
}

webhook_sender::webhook_sender(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

webhook_sender::~webhook_sender() {
  stop();
}

bool webhook_sender::send(const webhook_url& url, std::string body, final_fn on_final) {
  return impl_->send(url, std::move(body), std::move(on_final));
}

void webhook_sender::stop() {
  impl_->stop();
}

webhook_sender::counters webhook_sender::stats() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->totals;
}

}  // namespace crowdiff::gateway
