#include "actors/network/node_port_guard.hpp"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "common/log.hpp"

namespace crowdiff {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// What the connections share: limits, counters. Used on the guard's one thread only.
struct guard_core {
  node_port_guard::options opts;
  size_t connections = 0;
  std::map<std::string, size_t> per_address;
  size_t buffered = 0;
  std::atomic<size_t> connections_seen{0};
  std::atomic<size_t> buffered_seen{0};
  bool stopped = false;
  net::io_context io;  // last: destroyed first, with the handlers (and connections) it still holds

  bool admit(const std::string& address) {
    auto& n = per_address[address];
    if (stopped || connections >= opts.max_connections || n >= opts.max_connections_per_ip) {
      if (n == 0)
        per_address.erase(address);
      return false;
    }
    ++n;
    connections_seen = ++connections;
    return true;
  }
  void release(const std::string& address) {
    connections_seen = --connections;
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0)
      per_address.erase(it);
  }
  bool take(size_t n) {
    if (n > opts.max_buffered_bytes - buffered)
      return false;
    buffered_seen = buffered += n;
    return true;
  }
  void give_back(size_t n) { buffered_seen = buffered -= n; }
};

class guarded_connection : public std::enable_shared_from_this<guarded_connection> {
 public:
  guarded_connection(guard_core& core, tcp::socket peer, std::string address)
      : core_(core),
        peer_(std::move(peer)),
        backend_(core.io),
        timer_(core.io),
        address_(std::move(address)) {}

  ~guarded_connection() {
    core_.give_back(held_);
    core_.release(address_);
  }

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(core_.opts.handshake_timeout);
    timer_.async_wait([self](const error_code& ec) {
      if (!ec && !self->handshaken_)
        self->close("no handshake in time");
    });
    backend_.async_connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), core_.opts.backend_port},
                           [self](const error_code& ec) {
                             if (ec)
                               return self->close("the node port's backend is not reachable");
                             self->read_header();
                             self->pump_down();
                           });
  }

  void close(const char* why) {
    if (closed_)
      return;
    closed_ = true;
    if (why != nullptr)
      log::warning("node_port_refused").kv("peer", address_).kv("reason", why);
    error_code ignored;
    timer_.cancel();
    peer_.close(ignored);
    backend_.close(ignored);
  }

 private:
  // Peer to core: a header, checked; its payload, buffered whole; then both to the core.
  void read_header() {
    auto self = shared_from_this();
    net::async_read(peer_, net::buffer(header_), [self](const error_code& ec, size_t) {
      if (ec || self->closed_)
        return self->close(nullptr);
      auto v = node_guard::check_header(self->header_.data(), self->handshaken_, self->core_.opts.limits);
      if (!v.ok)
        return self->close(v.refused.c_str());
      self->ends_handshake_ = v.client_handshake;
      self->frame_.assign(self->header_.begin(), self->header_.end());
      self->payload_left_ = v.payload_bytes;
      self->read_payload();
    });
  }

  void read_payload() {
    if (payload_left_ == 0)
      return forward();
    size_t chunk = std::min<size_t>(payload_left_, chunk_.size());
    auto self = shared_from_this();
    peer_.async_read_some(net::buffer(chunk_.data(), chunk), [self](const error_code& ec, size_t n) {
      if (ec || self->closed_)
        return self->close(nullptr);
      // Memory follows the bytes that really came, and all connections together stay under the cap.
      if (!self->core_.take(n))
        return self->close("the guard holds too many bytes");
      self->held_ += n;
      self->frame_.insert(self->frame_.end(), self->chunk_.begin(),
                          self->chunk_.begin() + static_cast<long>(n));
      self->payload_left_ -= n;
      self->read_payload();
    });
  }

  void forward() {
    auto self = shared_from_this();
    net::async_write(backend_, net::buffer(frame_), [self](const error_code& ec, size_t) {
      self->core_.give_back(self->held_);
      self->held_ = 0;
      self->frame_.clear();
      self->frame_.shrink_to_fit();
      if (ec || self->closed_)
        return self->close(nullptr);
      if (self->ends_handshake_ && !self->handshaken_) {
        self->handshaken_ = true;
        self->timer_.cancel();
      }
      self->read_header();
    });
  }

  // Core to peer: passed on as it comes, one buffer at a time (the core is trusted).
  void pump_down() {
    auto self = shared_from_this();
    backend_.async_read_some(net::buffer(down_), [self](const error_code& ec, size_t n) {
      if (ec || self->closed_)
        return self->close(nullptr);
      net::async_write(self->peer_, net::buffer(self->down_.data(), n), [self](const error_code& e, size_t) {
        if (e || self->closed_)
          return self->close(nullptr);
        self->pump_down();
      });
    });
  }

  guard_core& core_;
  tcp::socket peer_;
  tcp::socket backend_;
  net::steady_timer timer_;
  std::string address_;
  std::array<uint8_t, node_guard::basp_header_bytes> header_{};
  std::array<uint8_t, 64 * 1024> chunk_{};
  std::array<uint8_t, 64 * 1024> down_{};
  std::vector<uint8_t> frame_;
  size_t payload_left_ = 0;
  size_t held_ = 0;
  bool handshaken_ = false;
  bool ends_handshake_ = false;
  bool closed_ = false;
};

}  // namespace

struct node_port_guard::impl {
  guard_core core;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> backoff;
  std::vector<std::weak_ptr<guarded_connection>> live;
  std::thread thread;
  uint16_t port = 0;

  void accept() {
    acceptor->async_accept([this](const error_code& ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor->is_open())
        return;
      if (ec == net::error::no_descriptors || ec == net::error::no_buffer_space) {
        // Retrying at once would spin while no descriptor is free.
        backoff->expires_after(std::chrono::milliseconds(100));
        backoff->async_wait([this](const error_code& e) {
          if (!e && acceptor->is_open())
            accept();
        });
        return;
      }
      if (!ec)
        serve(std::move(socket));
      accept();
    });
  }

  void serve(tcp::socket socket) {
    error_code ec;
    auto address = socket.remote_endpoint(ec).address().to_string();
    if (ec || !core.admit(address)) {
      socket.close(ec);
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto c = std::make_shared<guarded_connection>(core, std::move(socket), address);
    std::erase_if(live, [](const auto& w) { return w.expired(); });
    live.push_back(c);
    c->start();
  }
};

node_port_guard::node_port_guard(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

node_port_guard::~node_port_guard() {
  stop();
}

result<std::unique_ptr<node_port_guard>> node_port_guard::start(const options& opts) {
  auto p = std::make_unique<impl>();
  p->core.opts = opts;
  error_code ec;
  auto address = net::ip::make_address(opts.host.empty() ? "0.0.0.0" : opts.host, ec);
  if (ec)
    return status{errc::invalid_argument, "bad listen address '" + opts.host + "'"};
  auto& acc = p->acceptor.emplace(p->core.io);
  tcp::endpoint endpoint{address, opts.port};
  acc.open(endpoint.protocol(), ec);
  if (!ec)
    acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    acc.bind(endpoint, ec);
  if (!ec)
    acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return status{errc::unavailable,
                  "cannot listen on port " + std::to_string(opts.port) + ": " + ec.message()};
  p->port = acc.local_endpoint().port();
  p->backoff.emplace(p->core.io);
  p->accept();
  auto* raw = p.get();
  p->thread = std::thread([raw] {
    for (;;) {
      try {
        raw->core.io.run();
        return;
      } catch (const std::exception& e) {
        log::error("node_port_guard_exception").kv("error", e.what());
      }
    }
  });
  return std::unique_ptr<node_port_guard>{new node_port_guard(std::move(p))};
}

uint16_t node_port_guard::port() const {
  return impl_->port;
}

size_t node_port_guard::connections() const {
  return impl_->core.connections_seen.load();
}

size_t node_port_guard::buffered_bytes() const {
  return impl_->core.buffered_seen.load();
}

void node_port_guard::stop() {
  if (!impl_ || !impl_->thread.joinable())
    return;
  net::post(impl_->core.io, [p = impl_.get()] {
    p->core.stopped = true;
    error_code ignored;
    p->acceptor->close(ignored);
    p->backoff->cancel();
    for (auto& w : p->live)
      if (auto c = w.lock())
        c->close(nullptr);
  });
  net::post(impl_->core.io, [p = impl_.get()] { p->core.io.stop(); });
  impl_->thread.join();
  // No thread runs the io_context now: run what the closes left (aborted reads and writes), so every
  // connection lets go of itself while the counters it updates still exist.
  impl_->core.io.restart();
  impl_->core.io.poll();
  impl_->live.clear();
}

}  // namespace crowdiff
