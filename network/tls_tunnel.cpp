#include "network/tls_tunnel.hpp"

#include <array>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "common/io_service_thread.hpp"
#include "common/log.hpp"

namespace crowdiff {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using tls_stream = net::ssl::stream<tcp::socket>;

bool ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

struct tunnel_core {
  tls_tunnel::options opts;
  std::optional<net::ssl::context> tls;
  size_t connections = 0;
  net::io_context io;  // last: destroyed first, with what its handlers hold
};

// One CAF connection: plain on loopback, TLS to the core.
class tunnel_connection : public std::enable_shared_from_this<tunnel_connection> {
 public:
  tunnel_connection(tunnel_core& core, tcp::socket local)
      : core_(core),
        local_(std::move(local)),
        remote_(core.io, *core.tls),
        resolver_(core.io),
        timer_(core.io) {
    ++core_.connections;
  }
  ~tunnel_connection() { --core_.connections; }

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(core_.opts.connect_timeout);
    timer_.async_wait([self](const error_code& ec) {
      if (!ec && !self->up_)
        self->close("the core did not answer in time");
    });
    resolver_.async_resolve(core_.opts.host, std::to_string(core_.opts.port),
                            [self](const error_code& ec, const tcp::resolver::results_type& found) {
                              if (ec || self->closed_)
                                return self->close(ec ? "cannot resolve the core" : nullptr);
                              net::async_connect(
                                  self->remote_.next_layer(), found,
                                  [self](const error_code& e, const tcp::endpoint&) {
                                    if (e || self->closed_)
                                      return self->close(e ? "cannot reach the core" : nullptr);
                                    self->handshake();
                                  });
                            });
  }

  void close(const char* why) {
    if (closed_)
      return;
    closed_ = true;
    if (why != nullptr)
      log::warning("tls_tunnel_closed").kv("core", core_.opts.host).kv("reason", why);
    error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    local_.close(ignored);
    remote_.next_layer().close(ignored);
  }

 private:
  void handshake() {
    auto self = shared_from_this();
    const auto& host = core_.opts.host;
    // SNI names hosts only, never addresses (RFC 6066); the certificate must name either.
    if (!ip_literal(host))
      SSL_set_tlsext_host_name(remote_.native_handle(), host.c_str());
    remote_.set_verify_mode(net::ssl::verify_peer);
    remote_.set_verify_callback(net::ssl::host_name_verification(host));
    remote_.async_handshake(net::ssl::stream_base::client, [self](const error_code& ec) {
      if (ec || self->closed_)
        return self->close(ec ? "the core's certificate does not verify, or no TLS" : nullptr);
      self->up_ = true;
      self->timer_.cancel();
      self->pump(self->local_, self->remote_, self->up_buffer_);
      self->pump(self->remote_, self->local_, self->down_buffer_);
    });
  }

  template <class From, class To>
  void pump(From& from, To& to, std::array<char, 16 * 1024>& buffer) {
    auto self = shared_from_this();
    from.async_read_some(net::buffer(buffer), [self, &from, &to, &buffer](const error_code& ec, size_t n) {
      if (ec || self->closed_)
        return self->close(nullptr);
      net::async_write(to, net::buffer(buffer.data(), n),
                       [self, &from, &to, &buffer](const error_code& e, size_t) {
                         if (e || self->closed_)
                           return self->close(nullptr);
                         self->pump(from, to, buffer);
                       });
    });
  }

  tunnel_core& core_;
  tcp::socket local_;
  tls_stream remote_;
  tcp::resolver resolver_;
  net::steady_timer timer_;
  std::array<char, 16 * 1024> up_buffer_{};
  std::array<char, 16 * 1024> down_buffer_{};
  bool up_ = false;
  bool closed_ = false;
};

}  // namespace

struct tls_tunnel::impl {
  tunnel_core core;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> backoff;
  std::vector<std::weak_ptr<tunnel_connection>> live;
  std::thread thread;
  uint16_t port = 0;

  void accept() {
    acceptor->async_accept([this](const error_code& ec, tcp::socket socket) {
      // At the descriptor limit this used to retry at once, spinning.
      if (!keep_accepting(ec, *acceptor, *backoff, "tls_tunnel_accept_backoff", [this] { accept(); }))
        return;
      if (!ec) {
        error_code e;
        // Only this machine's processes (CAF in this one) may use the tunnel, and only a few at once.
        if (!socket.remote_endpoint(e).address().is_loopback() ||
            core.connections >= core.opts.max_connections) {
          socket.close(e);
        } else {
          auto c = std::make_shared<tunnel_connection>(core, std::move(socket));
          std::erase_if(live, [](const auto& w) { return w.expired(); });
          live.push_back(c);
          c->start();
        }
      }
      accept();
    });
  }
};

tls_tunnel::tls_tunnel(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

tls_tunnel::~tls_tunnel() {
  stop();
}

result<std::unique_ptr<tls_tunnel>> tls_tunnel::start(const options& opts) {
  auto p = std::make_unique<impl>();
  p->core.opts = opts;
  auto& ctx = p->core.tls.emplace(net::ssl::context::tls_client);
  ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
  error_code ec;
  if (opts.ca_file.empty())
    ctx.set_default_verify_paths(ec);
  else
    ctx.load_verify_file(opts.ca_file, ec);
  if (ec)
    return status{errc::invalid_argument,
                  "cannot load the trusted authorities" +
                      (opts.ca_file.empty() ? std::string() : " '" + opts.ca_file + "'") + ": " +
                      ec.message()};
  auto& acc = p->acceptor.emplace(p->core.io);
  tcp::endpoint local{net::ip::make_address("127.0.0.1"), 0};
  acc.open(local.protocol(), ec);
  if (!ec)
    acc.bind(local, ec);
  if (!ec)
    acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return status{errc::unavailable, "cannot open the TLS tunnel on loopback: " + ec.message()};
  p->port = acc.local_endpoint().port();
  p->backoff.emplace(p->core.io);
  p->accept();
  p->thread = io_service_thread(p->core.io, "tls_tunnel");
  return std::unique_ptr<tls_tunnel>{new tls_tunnel(std::move(p))};
}

uint16_t tls_tunnel::port() const {
  return impl_->port;
}

void tls_tunnel::stop() {
  if (!impl_)
    return;
  stop_io_service(impl_->core.io, impl_->thread, [p = impl_.get()] {
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
