// The HTTP server's defences, on a server of its own with small limits: what a stranger's connection can
// hold (time, connections, body bytes) and what a failing handler costs (its request, not the process).

#include "gateway/http_server.hpp"

#include <atomic>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <sys/resource.h>
#include <thread>
#include <vector>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include "raw_connection.hpp"

using crowdiff::gateway::http_request;
using crowdiff::gateway::http_server;
using crowdiff::gateway::responder;
using crowdiff::testing::raw_connection;
using namespace std::chrono_literals;

namespace {

std::string get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

/// A server whose handler answers 200 "ok", or throws for /throw.
struct small_server {
  explicit small_server(http_server::options o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    server = std::make_unique<http_server>(o, [this](http_request& req, std::shared_ptr<responder> r) {
      ++handled;
      if (req.path == "/throw")
        throw std::runtime_error("a handler bug");
      r->reply(200, "text/plain", "ok");
    });
    auto p = server->start();
    BOOST_REQUIRE(p.has_value());
    port = *p;
  }
  unsigned status(const std::string& request, const std::string& from = {}) {
    raw_connection c(port, from);
    c.send(request);
    return raw_connection::status_of(c.read_response());
  }
  /// The answer to a connection that sends nothing: a client turned away at accept is told so at once.
  unsigned status_at_accept(const std::string& from = {}) {
    raw_connection c(port, from);
    return raw_connection::status_of(c.read_response(2s));
  }
  std::unique_ptr<http_server> server;
  uint16_t port = 0;
  std::atomic<int> handled{0};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(http_server_limits)

BOOST_AUTO_TEST_CASE(a_handler_that_throws_costs_its_request_only) {
  small_server s;
  BOOST_TEST(s.status(get("/throw")) == 500u);
  BOOST_TEST(s.status(get("/fine")) == 200u);  // the server is still up
}

BOOST_AUTO_TEST_CASE(text_that_is_not_utf8_never_reaches_a_handler) {
  small_server s;
  raw_connection path(s.port);
  path.send(get("/%ff"));
  auto answer = path.read_response();
  BOOST_TEST(raw_connection::status_of(answer) == 400u);
  BOOST_TEST(answer.find("not valid UTF-8") != std::string::npos);
  BOOST_TEST(s.status(get("/api/v2/workers/name/%ff%fe")) == 400u);
  BOOST_TEST(s.status(get("/x?name=%c3")) == 400u);
  raw_connection header(s.port);
  header.send("GET / HTTP/1.1\r\nHost: x\r\nClient-Agent: caf\xe9\r\n\r\n");
  answer = header.read_response();
  BOOST_TEST(raw_connection::status_of(answer) == 400u);
  BOOST_TEST(answer.find("client-agent") != std::string::npos);
  BOOST_TEST(s.handled.load() == 0);
  BOOST_TEST(s.status("GET /caf%C3%A9 HTTP/1.1\r\nHost: x\r\nClient-Agent: caf\xc3\xa9\r\n\r\n") == 200u);
}

BOOST_AUTO_TEST_CASE(slow_headers_and_idle_connections_are_cut_off) {
  http_server::options o;
  o.header_timeout = 300ms;
  o.idle_timeout = 300ms;
  small_server s(o);
  raw_connection slow(s.port);
  slow.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a");  // and never the rest
  BOOST_TEST(slow.closed_by_server(10s));
  raw_connection idle(s.port);  // says nothing at all
  BOOST_TEST(idle.closed_by_server(10s));
  raw_connection kept(s.port);  // one request, then silence on a kept-alive connection
  kept.send(get("/"));
  BOOST_TEST(raw_connection::status_of(kept.read_response()) == 200u);
  BOOST_TEST(kept.closed_by_server(10s));
}

BOOST_AUTO_TEST_CASE(a_body_that_never_comes_is_cut_off) {
  http_server::options o;
  o.body_timeout = 300ms;
  small_server s(o);
  raw_connection stalled(s.port);
  stalled.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly this");
  BOOST_TEST(stalled.closed_by_server(10s));
  BOOST_TEST(s.handled.load() == 0);
}

BOOST_AUTO_TEST_CASE(connections_are_capped_per_address_and_in_all) {
  http_server::options o;
  o.max_connections_per_ip = 2;
  o.max_connections = 3;
  small_server s(o);
  // Two kept-alive connections from 127.0.0.1, each known to be accepted (it answered).
  std::vector<std::unique_ptr<raw_connection>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<raw_connection>(s.port));
    held.back()->send(get("/"));
    BOOST_REQUIRE(raw_connection::status_of(held.back()->read_response()) == 200u);
  }
  BOOST_TEST(s.status_at_accept() == 503u);  // a third from the same address
  raw_connection other_address(s.port, "127.0.0.2");
  other_address.send(get("/"));
  BOOST_REQUIRE(raw_connection::status_of(other_address.read_response()) == 200u);  // another address gets in
  BOOST_TEST(s.status_at_accept("127.0.0.3") == 503u);  // three open: the total cap
  // Closing one lets the next in (bounded wait for the server to see the close).
  held.pop_back();
  unsigned after = 0;
  for (int i = 0; i < 200 && (after = s.status(get("/"))) != 200u; ++i)
    std::this_thread::sleep_for(5ms);
  BOOST_TEST(after == 200u);
}

BOOST_AUTO_TEST_CASE(bodies_being_read_are_capped_in_total) {
  http_server::options o;
  o.max_body_bytes = 1000;
  o.max_body_bytes_in_flight = 1000;
  o.body_timeout = 5s;
  small_server s(o);
  raw_connection hog(s.port);
  hog.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\n");  // the body never comes
  for (int i = 0; i < 400 && s.server->body_bytes_in_flight() != 800u; ++i)
    std::this_thread::sleep_for(5ms);
  BOOST_REQUIRE(s.server->body_bytes_in_flight() == 800u);
  // A second body of that size does not fit beside it (answered before its body is sent).
  BOOST_TEST(s.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\n") == 503u);
  BOOST_TEST(s.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'y')) ==
             200u);
  BOOST_TEST(s.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n") == 413u);
}

BOOST_AUTO_TEST_CASE(bodies_being_read_are_capped_per_address) {
  http_server::options o;
  o.max_body_bytes = 1000;
  o.max_body_bytes_in_flight = 10'000;
  o.max_body_bytes_in_flight_per_ip = 1000;
  o.body_timeout = 5s;
  small_server s(o);
  raw_connection hog(s.port);
  hog.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\n");  // the body never comes
  for (int i = 0; i < 400 && s.server->body_bytes_in_flight() != 800u; ++i)
    std::this_thread::sleep_for(5ms);
  BOOST_REQUIRE(s.server->body_bytes_in_flight() == 800u);
  BOOST_TEST(s.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\n") == 503u);  // same address
  BOOST_TEST(s.status("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 800\r\n\r\n" + std::string(800, 'z'),
                      "127.0.0.2") == 200u);  // another address is not held up
}

// At the descriptor limit an accept fails until a descriptor is freed; retrying at once would spin a core
// (seen: 100% CPU). The server waits instead, then serves the connections that waited in the backlog.
BOOST_AUTO_TEST_CASE(at_the_descriptor_limit_the_server_waits_instead_of_spinning) {
  small_server s;
  // Client sockets made before the limit is lowered: connecting them needs no new descriptor here, but the
  // server's accept does.
  boost::asio::io_context io;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<boost::asio::ip::tcp::socket>(io));
    clients.back()->open(boost::asio::ip::tcp::v4());
  }
  rlimit saved{};
  BOOST_REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  size_t open_now = static_cast<size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                                      std::filesystem::directory_iterator{}));
  rlimit lowered = saved;
  lowered.rlim_cur = open_now;  // the directory iterator's own descriptor is closed again by now
  BOOST_REQUIRE(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  for (auto& c : clients)
    c->connect({boost::asio::ip::make_address("127.0.0.1"), s.port});
  auto cpu_ms = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000.0 +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000.0;
  };
  double before = cpu_ms();
  std::this_thread::sleep_for(500ms);
  double used = cpu_ms() - before;
  BOOST_REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);
  BOOST_TEST(used < 200.0, "the server used " << used << " ms of CPU in 500 ms at the descriptor limit");
  // Descriptors again: the waiting connections are accepted and served.
  auto request = get("/");
  boost::asio::write(*clients[0], boost::asio::buffer(request));
  boost::asio::streambuf answer;
  boost::system::error_code ec;
  boost::asio::read_until(*clients[0], answer, "\r\n\r\n", ec);
  std::string head{boost::asio::buffers_begin(answer.data()), boost::asio::buffers_end(answer.data())};
  BOOST_TEST(raw_connection::status_of(head) == 200u);
}

BOOST_AUTO_TEST_CASE(closed_connections_are_counted_out) {
  small_server s;
  for (int i = 0; i < 20; ++i)
    BOOST_TEST(s.status(get("/")) == 200u);
  size_t open = 1;
  for (int i = 0; i < 400 && (open = s.server->connections()) != 0; ++i)
    std::this_thread::sleep_for(5ms);
  BOOST_TEST(open == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
