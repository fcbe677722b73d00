#pragma once

// A raw TCP connection to a local server, for tests that send what no well-behaved client would: half a
// request, bytes that are not UTF-8, a body that never comes. Every read is bounded by a deadline.

#include <chrono>
#include <poll.h>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace crowdiff::testing {

class raw_connection {
 public:
  /// Connects to `port` on 127.0.0.1 (or another loopback `from` address, so tests can be many clients).
  explicit raw_connection(uint16_t port, const std::string& from = {}) : socket_(io_) {
    namespace ip = boost::asio::ip;
    if (!from.empty()) {
      socket_.open(ip::tcp::v4());
      socket_.bind(ip::tcp::endpoint{ip::make_address(from), 0});
    }
    socket_.connect(ip::tcp::endpoint{ip::make_address("127.0.0.1"), port});
  }

  void send(const std::string& bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }

  /// Reads until the server closes the connection or `limit` passes; what arrived.
  std::string read_until_closed(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return read_for(limit, [](const std::string&) { return false; });
  }

  /// Reads until one whole response head and its Content-Length body arrived (or `limit` passes).
  std::string read_response(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return read_for(limit, [](const std::string& got) {
      auto head = got.find("\r\n\r\n");
      if (head == std::string::npos)
        return false;
      auto cl = got.find("Content-Length: ");
      size_t length = cl == std::string::npos || cl > head ? 0 : std::stoul(got.substr(cl + 16));
      return got.size() >= head + 4 + length;
    });
  }

  /// True when the server closed the connection (a read sees end of file) within `limit`.
  bool closed_by_server(std::chrono::milliseconds limit) {
    read_until_closed(limit);
    return eof_;
  }

  /// The status code of a response ("HTTP/1.1 503 ..." -> 503); 0 when `response` is not one.
  static unsigned status_of(const std::string& response) {
    if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12)
      return 0;
    return static_cast<unsigned>(std::stoul(response.substr(9, 3)));
  }

 private:
  template <class Done>
  std::string read_for(std::chrono::milliseconds limit, Done done) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    socket_.non_blocking(true);
    while (!eof_ && !done(got)) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        break;
      pollfd p{socket_.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;  // the deadline is checked above
      boost::system::error_code ec;
      size_t n = socket_.read_some(boost::asio::buffer(buf), ec);
      if (ec == boost::asio::error::would_block)
        continue;
      if (ec) {
        eof_ = true;  // end of file, or reset: either way the server is done with us
        break;
      }
      got.append(buf, n);
    }
    return got;
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  bool eof_ = false;
};

}  // namespace crowdiff::testing
