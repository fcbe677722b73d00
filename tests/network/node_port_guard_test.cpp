// The node port's guard against a stand-in for CAF's middleman (a loopback server that records what reaches
// it): checked frames pass byte for byte; a stranger's header announcing gigabytes, a message before the
// handshake, or silence never reach it.

#include "network/node_port_guard.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include "network/peer_flow.hpp"

using namespace crowdiff;
using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Writes what it can: the guard may close the connection while a test is still sending (that is the point).
void send(tcp::socket& s, const std::string& bytes) {
  boost::system::error_code ignored;
  net::write(s, net::buffer(bytes), ignored);
}

void put_u64(std::string& h, size_t at, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8)
    h[at + static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
}

// A BASP header: operation, padding, flags, payload length, the operation's data (a message id), source and
// destination actor (big-endian).
std::string header(uint8_t operation, uint32_t payload, uint64_t message_id = 0, uint64_t source = 0,
                   uint64_t destination = 0) {
  std::string h(node_guard::basp_header_bytes, '\0');
  h[0] = static_cast<char>(operation);
  h[4] = static_cast<char>(payload >> 24);
  h[5] = static_cast<char>(payload >> 16);
  h[6] = static_cast<char>(payload >> 8);
  h[7] = static_cast<char>(payload);
  put_u64(h, 8, message_id);
  put_u64(h, 16, source);
  put_u64(h, 24, destination);
  return h;
}

// CAF's message ids: a request carries its id (category "normal" in bits 60-61); its answer the same id with
// the top bit set.
constexpr uint64_t normal_category = 0x1000000000000000ull;
uint64_t request_id(uint64_t id) {
  return normal_category | id;
}
uint64_t answer_id(uint64_t id) {
  return 0x8000000000000000ull | normal_category | id;
}

// What the backend says first, as CAF's server handshake would: a frame.
const std::string greeting = header(0, 5) + "hello";

// Accepts connections on loopback and keeps every byte they send; greets each as CAF's server handshake
// would, and sends down what a test asks.
class recording_backend {
 public:
  recording_backend() : acceptor_(io_, tcp::endpoint{net::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~recording_backend() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string received() {
    std::lock_guard lock{mutex_};
    return received_;
  }
  int connections() const { return connections_.load(); }
  /// Sends `bytes` down the latest connection (from the backend's thread).
  void send_down(std::string bytes) {
    net::post(io_, [this, b = std::make_shared<std::string>(std::move(bytes))] {
      if (latest_)
        net::async_write(*latest_, net::buffer(*b), [b](boost::system::error_code, size_t) {});
    });
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec)
        return;
      ++connections_;
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      latest_ = sock;
      net::write(*sock, net::buffer(greeting), ec);
      read(sock);
      accept();
    });
  }
  void read(std::shared_ptr<tcp::socket> s) {
    auto buf = std::make_shared<std::array<char, 65536>>();
    s->async_read_some(net::buffer(*buf), [this, s, buf](boost::system::error_code ec, size_t n) {
      if (ec)
        return;
      {
        std::lock_guard lock{mutex_};
        received_.append(buf->data(), n);
      }
      read(s);
    });
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mutex_;
  std::string received_;
  std::shared_ptr<tcp::socket> latest_;
  std::atomic<int> connections_{0};
};

struct guarded {
  explicit guarded(node_port_guard::options o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.backend_port = backend.port();
    auto g = node_port_guard::start(o);
    BOOST_REQUIRE_MESSAGE(g.has_value(), g.to_status().to_string());
    guard = std::move(*g);
  }
  tcp::socket connect(const std::string& from = {}) {
    tcp::socket s(io);
    if (!from.empty()) {
      s.open(tcp::v4());
      s.bind(tcp::endpoint{net::ip::make_address(from), 0});
    }
    s.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), guard->port()});
    return s;
  }
  /// True when the guard closes `s` within `limit` (whatever it passed on before is read and dropped).
  static bool closed(tcp::socket& s, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    s.non_blocking(true);
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      boost::system::error_code ec;
      s.read_some(net::buffer(buf), ec);
      if (ec && ec != net::error::would_block)
        return true;
      if (ec == net::error::would_block)
        std::this_thread::sleep_for(2ms);
    }
    return false;
  }
  template <class Pred>
  static bool eventually(Pred pred) {
    for (int i = 0; i < 2000; ++i) {
      if (pred())
        return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  recording_backend backend;
  net::io_context io;
  std::unique_ptr<node_port_guard> guard;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(node_port_guard_suite)

BOOST_AUTO_TEST_CASE(headers_are_checked_before_anything_passes) {
  node_guard::frame_limits limits;
  limits.max_handshake_bytes = 1000;
  limits.max_payload_bytes = 5000;
  auto check = [&](uint8_t op, uint32_t payload, bool handshaken) {
    auto h = header(op, payload);
    return node_guard::check_header(reinterpret_cast<const uint8_t*>(h.data()), handshaken, limits);
  };
  BOOST_TEST(check(1, 1000, false).ok);
  BOOST_TEST(check(1, 1000, false).client_handshake);
  BOOST_TEST(!check(1, 1001, false).ok);         // a handshake is small
  BOOST_TEST(!check(2, 10, false).ok);           // a message before the handshake
  BOOST_TEST(!check(1, 0xffffffffu, false).ok);  // 4 GiB announced
  BOOST_TEST(check(2, 5000, true).ok);
  BOOST_TEST(!check(2, 5001, true).ok);
  BOOST_TEST(check(6, 0, true).ok);   // a heartbeat
  BOOST_TEST(!check(7, 0, true).ok);  // no such operation
  BOOST_TEST(check(1, 0xffffffffu, false).refused.find("4294967295") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(checked_frames_pass_byte_for_byte_both_ways) {
  guarded g;
  auto s = g.connect();
  std::string hello(greeting.size(), '\0');
  net::read(s, net::buffer(hello));  // the backend's bytes come through untouched
  BOOST_TEST(hello == greeting);
  std::string frames = header(1, 3) + "abc" + header(2, 4) + "wxyz" + header(6, 0);
  send(s, frames);
  BOOST_TEST(g.eventually([&] { return g.backend.received() == frames; }));
}

BOOST_AUTO_TEST_CASE(a_huge_payload_announced_by_a_stranger_is_never_read) {
  guarded g;
  auto s = g.connect();
  send(s, header(1, 0xffffffffu));
  BOOST_TEST(guarded::closed(s));
  BOOST_TEST(g.eventually([&] { return g.guard->buffered_bytes() == 0u; }));
  auto before = g.connect();
  send(before, header(2, 16) + std::string(16, 'x'));  // a message before the handshake
  BOOST_TEST(guarded::closed(before));
  BOOST_TEST(g.backend.received().empty());
}

BOOST_AUTO_TEST_CASE(a_frame_reaches_the_core_only_when_whole) {
  guarded g;
  auto s = g.connect();
  std::string head = header(1, 100) + std::string(60, 'a');  // 40 bytes of its payload still to come
  send(s, head);
  BOOST_TEST(g.eventually([&] { return g.guard->buffered_bytes() == 60u; }));
  BOOST_TEST(g.backend.received().empty());
  send(s, std::string(40, 'b'));
  BOOST_TEST(g.eventually([&] { return g.backend.received().size() == 132u; }));
  BOOST_TEST(g.eventually([&] { return g.guard->buffered_bytes() == 0u; }));
}

// The handshake and the start of a large message: what the guard then holds for this connection.
std::string handshake_then(size_t payload_bytes) {
  return header(1, 10) + std::string(10, 'h') + header(2, 1'000'000) + std::string(payload_bytes, 'p');
}

BOOST_AUTO_TEST_CASE(what_the_guard_holds_is_capped_in_all) {
  node_port_guard::options o;
  o.max_buffered_bytes = 150'000;
  guarded g(o);
  auto a = g.connect();
  send(a, handshake_then(90'000));
  BOOST_TEST(g.eventually([&] { return g.guard->buffered_bytes() >= 90'000u; }));
  auto b = g.connect("127.0.0.2");
  send(b, handshake_then(100'000));
  BOOST_TEST(guarded::closed(b));  // the second passes the total
  BOOST_TEST(g.eventually([&] { return g.guard->buffered_bytes() < 150'000u; }));
  BOOST_TEST(g.guard->buffered_bytes() >= 90'000u);  // the first is still held
}

BOOST_AUTO_TEST_CASE(what_one_address_holds_is_capped) {
  node_port_guard::options o;
  o.max_buffered_bytes_per_ip = 60'000;
  guarded g(o);
  auto a = g.connect();
  send(a, handshake_then(100'000));
  BOOST_TEST(guarded::closed(a));
  auto b = g.connect("127.0.0.2");
  send(b, handshake_then(40'000));
  BOOST_TEST(g.eventually([&] { return g.guard->buffered_bytes() >= 40'000u; }));
}

BOOST_AUTO_TEST_CASE(a_message_trickled_too_slowly_is_dropped) {
  node_port_guard::options o;
  o.frame_timeout = 200ms;
  guarded g(o);
  auto s = g.connect();
  send(s, handshake_then(10));  // and never the other 999,990 bytes
  BOOST_TEST(guarded::closed(s));
  BOOST_TEST(g.eventually([&] { return g.guard->buffered_bytes() == 0u; }));
}

BOOST_AUTO_TEST_CASE(silence_and_crowds_are_turned_away) {
  node_port_guard::options o;
  o.handshake_timeout = 200ms;
  o.max_connections_per_ip = 2;
  guarded g(o);
  auto quiet = g.connect();
  BOOST_TEST(guarded::closed(quiet));  // no handshake in time
  BOOST_TEST(g.eventually([&] { return g.guard->connections() == 0u; }));
  node_port_guard::options many;
  many.max_connections_per_ip = 2;
  guarded h(many);
  auto one = h.connect();
  auto two = h.connect();
  BOOST_TEST(h.eventually([&] { return h.guard->connections() == 2u; }));
  auto three = h.connect();
  BOOST_TEST(guarded::closed(three));
  auto elsewhere = h.connect("127.0.0.2");
  BOOST_TEST(h.eventually([&] { return h.guard->connections() == 3u; }));
}

BOOST_AUTO_TEST_CASE(requests_pending_and_message_rate_are_counted_per_connection) {
  auto h = [](uint8_t op, uint64_t id, uint64_t src, uint64_t dst) {
    static std::string keep;
    keep = header(op, 0, id, src, dst);
    return reinterpret_cast<const uint8_t*>(keep.data());
  };
  node_guard::peer_flow flow({2, 1000}, 0);
  flow.sent_up(h(2, request_id(1), 7, 99), 0);
  flow.sent_up(h(2, 0, 7, 99), 0);             // one-way: nothing to wait for
  flow.sent_up(h(2, answer_id(5), 7, 99), 0);  // the peer answering the core
  BOOST_TEST(!flow.before_next(0).for_answer);
  flow.sent_up(h(3, request_id(1), 8, 99), 0);  // another of its actors may use the same id
  BOOST_TEST(flow.pending_requests() == 2u);
  BOOST_TEST(flow.before_next(0).for_answer);
  flow.sent_down(h(2, answer_id(1), 99, 9));   // an answer to an actor that asked nothing
  flow.sent_down(h(2, request_id(1), 99, 7));  // the core asking, not answering
  BOOST_TEST(flow.before_next(0).for_answer);
  flow.sent_down(h(2, answer_id(1), 99, 7));
  BOOST_TEST(!flow.before_next(0).for_answer);
  BOOST_TEST(flow.pending_requests() == 1u);

  node_guard::peer_flow paced({100, 10}, 0);  // ten a second, ten at once
  for (int i = 0; i < 10; ++i) {
    BOOST_TEST(paced.before_next(0).ms == 0);
    paced.sent_up(h(6, 0, 0, 0), 0);
  }
  BOOST_TEST(paced.before_next(0).ms == 100);
  BOOST_TEST(paced.before_next(50).ms == 50);
  BOOST_TEST(paced.before_next(100).ms == 0);
  // Answers the peer makes up are paced as one-way messages, not waved through.
  paced.sent_up(h(2, answer_id(77), 7, 99), 100);
  BOOST_TEST(paced.before_next(100).ms == 100);
  BOOST_TEST(paced.pending_requests() == 0u);
}

BOOST_AUTO_TEST_CASE(a_peer_with_too_many_requests_pending_is_read_no_further_until_answered) {
  node_port_guard::options o;
  o.flow.max_pending_requests = 2;
  guarded g(o);
  auto s = g.connect();
  std::string hello(greeting.size(), '\0');
  net::read(s, net::buffer(hello));
  std::string hand = header(1, 3) + "abc";
  std::string first = header(2, 1, request_id(1), 7, 42) + "1";
  std::string second = header(2, 1, request_id(2), 7, 42) + "2";
  std::string third = header(2, 1, request_id(3), 7, 42) + "3";
  send(s, hand + first + second + third);
  BOOST_TEST(g.eventually([&] { return g.backend.received() == hand + first + second; }));
  std::this_thread::sleep_for(100ms);  // long enough for the third to pass, were it let through
  BOOST_TEST(g.backend.received() == hand + first + second);
  // The core answers the second: the third goes up, and the answer reaches the peer.
  std::string answer = header(2, 2, answer_id(2), 42, 7) + "ok";
  g.backend.send_down(answer);
  BOOST_TEST(g.eventually([&] { return g.backend.received() == hand + first + second + third; }));
  std::string got(answer.size(), '\0');
  net::read(s, net::buffer(got));
  BOOST_TEST(got == answer);
}

BOOST_AUTO_TEST_CASE(a_peer_that_does_not_read_what_the_core_sends_is_dropped) {
  node_port_guard::options o;
  o.frame_timeout = 200ms;
  guarded g(o);
  auto s = g.connect();  // and never reads
  send(s, header(1, 3) + "abc");
  BOOST_TEST(g.eventually([&] { return g.guard->connections() == 1u && !g.backend.received().empty(); }));
  constexpr uint32_t big = 48u << 20;  // more than the socket buffers on both sides take
  g.backend.send_down(header(2, big) + std::string(big, 'x'));
  BOOST_TEST(g.eventually([&] { return g.guard->connections() == 0u; }));
}

BOOST_AUTO_TEST_SUITE_END()
