#include "network/node_port_guard.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "common/connection_limiter.hpp"
#include "common/io_service_thread.hpp"
#include "common/log.hpp"
#include "network/peer_flow.hpp"

namespace crowdiff {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What the connections share. Used on the guard's one thread, except the limiter (read by tests).
struct guard_core {
  node_port_guard::options opts;
  std::optional<connection_limiter> limits;
  bool stopped = false;
  net::io_context io;  // last: destroyed first, with the handlers (and connections) it still holds
};

using tls_stream = net::ssl::stream<tcp::socket>;

tcp::socket& lowest(tcp::socket& s) {
  return s;
}
tcp::socket& lowest(tls_stream& s) {
  return s.next_layer();
}

// What stop() needs of a connection, whatever its peer stream.
class guard_connection {
 public:
  virtual ~guard_connection() = default;
  virtual void close(const char* why) = 0;
};

// One peer: `Stream` is a plain socket, or a TLS stream the guard ends (the core's certificate proves who it
// is; the peer's API key, inside, says who the peer is).
template <class Stream>
class guarded_connection final : public guard_connection,
                                 public std::enable_shared_from_this<guarded_connection<Stream>> {
 public:
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;

  guarded_connection(guard_core& core, Stream peer, std::string address)
      : core_(core),
        peer_(std::move(peer)),
        backend_(core.io),
        timer_(core.io),
        pace_timer_(core.io),
        down_timer_(core.io),
        address_(std::move(address)),
        flow_(core.opts.flow, steady_ms()) {}

  ~guarded_connection() {
    core_.limits->give_back_bytes(address_, held_);
    core_.limits->release(address_);
  }

  void start() {
    auto self = this->shared_from_this();
    timer_.expires_after(core_.opts.handshake_timeout);
    timer_.async_wait([self](const error_code& ec) {
      if (!ec && !self->handshaken_)
        self->close("no handshake in time");
    });
    if constexpr (tls) {
      // Within the handshake timeout, as everything before the peer's BASP handshake.
      peer_.async_handshake(net::ssl::stream_base::server, [self](const error_code& ec) {
        if (ec || self->closed_)
          return self->close(ec ? "no TLS handshake" : nullptr);
        self->connect_backend();
      });
    } else {
      connect_backend();
    }
  }

  void connect_backend() {
    auto self = this->shared_from_this();
    backend_.async_connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), core_.opts.backend_port},
                           [self](const error_code& ec) {
                             if (ec)
                               return self->close("the node port's backend is not reachable");
                             error_code ignored;
                             self->backend_.set_option(tcp::no_delay(true), ignored);
                             self->read_header();
                             self->pump_down();
                           });
  }

  void close(const char* why) override {
    if (closed_)
      return;
    closed_ = true;
    release_frame();
    if (why != nullptr)
      log::warning("node_port_refused").kv("peer", address_).kv("reason", why);
    error_code ignored;
    timer_.cancel();
    pace_timer_.cancel();
    down_timer_.cancel();
    lowest(peer_).close(ignored);
    backend_.close(ignored);
  }

 private:
  // Peer to core: a header, checked; its payload, buffered whole; then both to the core.
  void read_header() {
    auto self = this->shared_from_this();
    net::async_read(peer_, net::buffer(header_), [self](const error_code& ec, size_t) {
      if (ec || self->closed_)
        return self->close(nullptr);
      auto v = node_guard::check_header(self->header_.data(), self->handshaken_, self->core_.opts.limits);
      if (!v.ok)
        return self->close(v.refused.c_str());
      self->ends_handshake_ = v.client_handshake;
      self->frame_.assign(self->header_.begin(), self->header_.end());
      self->payload_left_ = v.payload_bytes;
      self->frame_payload_ = v.payload_bytes;
      if (v.payload_bytes > 0 && self->handshaken_) {
        // A frame's bytes must all come within the frame timeout (before the handshake the handshake
        // timeout is running): a peer cannot hold buffered bytes by trickling them.
        self->timer_.expires_after(self->core_.opts.frame_timeout);
        self->timer_.async_wait([self, frame = ++self->frames_](const error_code& e) {
          if (!e && self->frames_ == frame && self->payload_left_ > 0)
            self->close("a message that did not arrive in time");
        });
      }
      self->read_payload();
    });
  }

  void read_payload() {
    if (payload_left_ == 0)
      return forward();
    size_t chunk = std::min<size_t>(payload_left_, chunk_.size());
    auto self = this->shared_from_this();
    peer_.async_read_some(net::buffer(chunk_.data(), chunk), [self](const error_code& ec, size_t n) {
      if (ec || self->closed_)
        return self->close(nullptr);
      // Memory follows the bytes that really came (counted by what the buffer allocates), and stays under the
      // caps for this address and for all.
      size_t needed = self->frame_.size() + n;
      if (needed > self->frame_.capacity()) {
        // Grown by half at a time (copies stay linear in the frame's size, the slack small), never past
        // the frame's own size.
        size_t grown =
            std::min<size_t>(std::max(needed, self->frame_.capacity() + self->frame_.capacity() / 2),
                             node_guard::basp_header_bytes + self->frame_payload_);
        if (!self->core_.limits->take_bytes(self->address_, grown - self->frame_.capacity()))
          return self->close("the guard holds too many bytes for this address or in all");
        self->held_ += grown - self->frame_.capacity();
        self->frame_.reserve(grown);
      }
      self->frame_.insert(self->frame_.end(), self->chunk_.begin(),
                          self->chunk_.begin() + static_cast<long>(n));
      self->payload_left_ -= n;
      self->read_payload();
    });
  }

  void forward() {
    auto self = this->shared_from_this();
    net::async_write(backend_, net::buffer(frame_), [self](const error_code& ec, size_t) {
      self->release_frame();
      if (ec || self->closed_)
        return self->close(nullptr);
      if (self->ends_handshake_ && !self->handshaken_) {
        self->handshaken_ = true;
        self->timer_.cancel();
      }
      self->flow_.sent_up(self->header_.data(), steady_ms());
      self->read_next();
    });
  }

  // The peer's next frame is read only while it has fewer requests pending than allowed (else the answer
  // that retires one resumes reading, in pump_down) and tokens left (else after a pause).
  void read_next() {
    auto wait = flow_.before_next(steady_ms());
    if (wait.for_answer) {
      waiting_for_answer_ = true;
      return;
    }
    if (wait.ms > 0) {
      auto self = this->shared_from_this();
      pace_timer_.expires_after(std::chrono::milliseconds(wait.ms));
      pace_timer_.async_wait([self](const error_code& ec) {
        if (!ec && !self->closed_)
          self->read_next();
      });
      return;
    }
    read_header();
  }

  void release_frame() {
    core_.limits->give_back_bytes(address_, held_);
    held_ = 0;
    frame_.clear();
    frame_.shrink_to_fit();
  }

  // Core to peer: passed on as it comes, one buffer at a time (the core is trusted), while the frame
  // boundaries in it are followed so that every header is shown to the flow: an answer may let the peer send
  // again.
  void pump_down() {
    auto self = this->shared_from_this();
    backend_.async_read_some(net::buffer(down_), [self](const error_code& ec, size_t n) {
      if (ec || self->closed_)
        return self->close(nullptr);
      self->follow_down(self->down_.data(), n);
      if (self->waiting_for_answer_ && !self->flow_.before_next(steady_ms()).for_answer) {
        self->waiting_for_answer_ = false;
        self->read_next();
      }
      self->write_down(net::buffer(self->down_.data(), n), [self] { self->pump_down(); });
    });
  }

  void follow_down(const uint8_t* p, size_t n) {
    while (n > 0) {
      if (down_left_ > 0) {  // inside a payload
        size_t k = std::min(n, down_left_);
        down_left_ -= k;
        p += k;
        n -= k;
        continue;
      }
      size_t k = std::min(n, down_header_.size() - down_have_);
      std::copy_n(p, k, down_header_.begin() + static_cast<long>(down_have_));
      down_have_ += k;
      p += k;
      n -= k;
      if (down_have_ == down_header_.size()) {
        const auto& h = down_header_;
        flow_.sent_down(h.data());
        down_left_ = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | size_t{h[7]};
        down_have_ = 0;
      }
    }
  }

  // A peer that does not take what the core sends within the frame timeout is dropped: otherwise the core
  // would hold its unread answers without end.
  template <class Then>
  void write_down(net::const_buffer bytes, Then then) {
    auto self = this->shared_from_this();
    down_timer_.expires_after(core_.opts.frame_timeout);
    down_timer_.async_wait([self, write = ++down_writes_](const error_code& e) {
      if (!e && self->down_writes_ == write && self->down_busy_)
        self->close("a peer that does not read what the core sends");
    });
    down_busy_ = true;
    net::async_write(peer_, bytes, [self, then](const error_code& e, size_t) {
      self->down_busy_ = false;
      if (e || self->closed_)
        return self->close(nullptr);
      then();
    });
  }

  guard_core& core_;
  Stream peer_;
  tcp::socket backend_;
  net::steady_timer timer_;
  net::steady_timer pace_timer_;
  net::steady_timer down_timer_;
  std::string address_;
  node_guard::peer_flow flow_;
  std::array<uint8_t, node_guard::basp_header_bytes> header_{};
  std::array<uint8_t, 16 * 1024> chunk_{};
  std::array<uint8_t, 16 * 1024> down_{};
  std::array<uint8_t, node_guard::basp_header_bytes> down_header_{};
  size_t down_have_ = 0;      // bytes of the header going down seen so far
  size_t down_left_ = 0;      // payload bytes of the frame going down still to pass
  uint64_t down_writes_ = 0;  // writes to the peer given a deadline
  bool down_busy_ = false;
  bool waiting_for_answer_ = false;
  std::vector<uint8_t> frame_;  // the frame being read; its capacity is what is counted in the limiter
  size_t frame_payload_ = 0;
  size_t payload_left_ = 0;
  size_t held_ = 0;      // bytes counted in the limiter for frame_
  uint64_t frames_ = 0;  // frames given a deadline, so a timer that fires late knows its frame is done
  bool handshaken_ = false;
  bool ends_handshake_ = false;
  bool closed_ = false;
};

}  // namespace

struct node_port_guard::impl {
  guard_core core;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> backoff;
  std::optional<net::ssl::context> tls;  // set: peers speak TLS, which ends here
  std::vector<std::weak_ptr<guard_connection>> live;
  std::thread thread;
  uint16_t port = 0;

  void accept() {
    acceptor->async_accept([this](const error_code& ec, tcp::socket socket) {
      if (!keep_accepting(ec, *acceptor, *backoff, "node_port_accept_backoff", [this] { accept(); }))
        return;
      if (!ec)
        serve(std::move(socket));
      accept();
    });
  }

  void serve(tcp::socket socket) {
    error_code ec;
    auto address = socket.remote_endpoint(ec).address().to_string();
    if (ec || core.stopped || !core.limits->admit(address)) {
      socket.close(ec);
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::erase_if(live, [](const auto& w) { return w.expired(); });
    if (tls) {
      auto c = std::make_shared<guarded_connection<tls_stream>>(core, tls_stream(std::move(socket), *tls),
                                                                address);
      live.push_back(c);
      c->start();
    } else {
      auto c = std::make_shared<guarded_connection<tcp::socket>>(core, std::move(socket), address);
      live.push_back(c);
      c->start();
    }
  }
};

node_port_guard::node_port_guard(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

node_port_guard::~node_port_guard() {
  stop();
}

result<std::unique_ptr<node_port_guard>> node_port_guard::start(const options& opts) {
  auto p = std::make_unique<impl>();
  p->core.opts = opts;
  // Each connection costs three descriptors (the peer's, ours to CAF, CAF's own): this port takes at most a
  // sixth of what is left after 256 for the rest of the process (the HTTP server takes half).
  size_t limit = raise_descriptor_limit();
  size_t room = limit == SIZE_MAX ? opts.max_connections : (limit > 512 ? (limit - 256) / 6 : limit / 12);
  size_t allowed = std::min(opts.max_connections, std::max<size_t>(room, 1));
  if (allowed < opts.max_connections)
    log::warning("node_port_connections_capped")
        .kv("configured", opts.max_connections)
        .kv("allowed", allowed)
        .kv("reason", "descriptor limit");
  p->core.limits.emplace(connection_limiter::limits{allowed, opts.max_connections_per_ip,
                                                    opts.max_buffered_bytes, opts.max_buffered_bytes_per_ip});
  error_code ec;
  auto address = net::ip::make_address(opts.host.empty() ? "0.0.0.0" : opts.host, ec);
  if (ec)
    return status{errc::invalid_argument, "bad listen address '" + opts.host + "'"};
  if (!opts.tls_certificate.empty()) {
    auto& ctx = p->tls.emplace(net::ssl::context::tls_server);
    ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                    net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                    net::ssl::context::no_tlsv1_1);
    if (!opts.tls_passphrase.empty())
      ctx.set_password_callback(
          [pass = opts.tls_passphrase](size_t, net::ssl::context::password_purpose) { return pass; });
    ctx.use_certificate_chain_file(opts.tls_certificate, ec);
    if (!ec)
      ctx.use_private_key_file(opts.tls_key, net::ssl::context::pem, ec);
    if (ec)
      return status{errc::invalid_argument, "cannot load the node port's certificate '" +
                                                opts.tls_certificate + "' or key '" + opts.tls_key +
                                                "': " + ec.message()};
  }
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
  p->thread = io_service_thread(p->core.io, "node_port_guard");
  return std::unique_ptr<node_port_guard>{new node_port_guard(std::move(p))};
}

uint16_t node_port_guard::port() const {
  return impl_->port;
}

size_t node_port_guard::connections() const {
  return impl_->core.limits->connections();
}

size_t node_port_guard::buffered_bytes() const {
  return impl_->core.limits->bytes();
}

void node_port_guard::stop() {
  if (!impl_)
    return;
  stop_io_service(impl_->core.io, impl_->thread, [p = impl_.get()] {
    p->core.stopped = true;
    error_code ignored;
    p->acceptor->close(ignored);
    p->backoff->cancel();
    for (auto& w : p->live)
      if (auto c = w.lock())
        c->close(nullptr);
  });
  impl_->live.clear();
}

}  // namespace crowdiff
