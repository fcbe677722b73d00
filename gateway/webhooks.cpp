#include "gateway/webhooks.hpp"

#include <chrono>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
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

struct url_parts {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};

bool split_url(const std::string& url, url_parts& out) {
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return false;
  }
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  out.host = colon == std::string::npos ? authority : authority.substr(0, colon);
  out.port = colon == std::string::npos ? (out.tls ? "443" : "80") : authority.substr(colon + 1);
  return !out.host.empty();
}

template <class Stream>
bool exchange(Stream& stream, const url_parts& u, const std::string& body, std::string& error) {
  http::request<http::string_body> req{http::verb::post, u.target, 11};
  req.set(http::field::host, u.host);
  req.set(http::field::user_agent, "crowdiff-webhook/0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  http::write(stream, req, ec);
  if (ec) {
    error = ec.message();
    return false;
  }
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  if (ec) {
    error = ec.message();
    return false;
  }
  if (res.result_int() / 100 != 2) {
    error = "HTTP " + std::to_string(res.result_int());
    return false;
  }
  return true;
}

}  // namespace

bool post_json(const std::string& url, const std::string& body, std::string& error) {
  url_parts u;
  if (!split_url(url, u)) {
    error = "not an http(s) URL";
    return false;
  }
  net::io_context io;
  tcp::resolver resolver{io};
  beast::error_code ec;
  auto endpoints = resolver.resolve(u.host, u.port, ec);
  if (ec) {
    error = ec.message();
    return false;
  }
  if (!u.tls) {
    beast::tcp_stream stream{io};
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(endpoints, ec);
    if (ec) {
      error = ec.message();
      return false;
    }
    bool ok = exchange(stream, u, body, error);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return ok;
  }
  net::ssl::context tls{net::ssl::context::tls_client};
  tls.set_default_verify_paths(ec);
  tls.set_verify_mode(net::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream{io, tls};
  SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str());
  stream.set_verify_callback(net::ssl::host_name_verification(u.host));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(stream).connect(endpoints, ec);
  if (!ec)
    stream.handshake(net::ssl::stream_base::client, ec);
  if (ec) {
    error = ec.message();
    return false;
  }
  bool ok = exchange(stream, u, body, error);
  stream.shutdown(ec);
  return ok;
}

webhook_sender::webhook_sender(unsigned attempts) : attempts_(attempts), thread_([this] { loop(); }) {}

webhook_sender::~webhook_sender() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void webhook_sender::send(std::string url, std::string body) {
  {
    std::lock_guard lock{mutex_};
    queue_.push_back({std::move(url), std::move(body), 0, 0});
  }
  wake_.notify_one();
}

uint64_t webhook_sender::delivered() const {
  std::lock_guard lock{mutex_};
  return delivered_;
}

uint64_t webhook_sender::abandoned() const {
  std::lock_guard lock{mutex_};
  return abandoned_;
}

void webhook_sender::loop() {
  std::unique_lock lock{mutex_};
  for (;;) {
    if (stopping_)
      return;
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    // The earliest delivery that is due; wait for it otherwise.
    auto due = std::min_element(queue_.begin(), queue_.end(), [](const delivery& a, const delivery& b) {
      return a.not_before_ms < b.not_before_ms;
    });
    int64_t now = wall_ms();
    if (due->not_before_ms > now) {
      wake_.wait_for(lock, std::chrono::milliseconds(due->not_before_ms - now));
      continue;
    }
    delivery d = std::move(*due);
    queue_.erase(due);
    lock.unlock();
    std::string error;
    bool ok = post_json(d.url, d.body, error);
    lock.lock();
    if (ok) {
      ++delivered_;
      continue;
    }
    if (++d.attempt >= attempts_) {
      ++abandoned_;
      log::warning("webhook_abandoned").kv("url", d.url).kv("error", error);
      continue;
    }
    d.not_before_ms = wall_ms() + (int64_t{1000} << (d.attempt - 1));
    log::info("webhook_retry").kv("url", d.url).kv("attempt", d.attempt).kv("error", error);
    queue_.push_back(std::move(d));
  }
}

}  // namespace crowdiff::gateway
