// A gateway that stops while work it started is still under way: a live event stream (whose actor keeps
// its connection's responder) and the job behind it go on after the HTTP server is gone. The stop closes
// the connection, the stream's later events go nowhere, and the connection ends safely after the server.
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include "gateway_core.hpp"

namespace {

using crowdiff::testing::fake_generator;
using crowdiff::testing::gateway_core;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr const char* sd = "stable_diffusion";

/// A client of one event stream, on a plain socket.
struct stream_client {
  net::io_context io;
  tcp::socket socket{io};
  std::string received;

  stream_client(uint16_t port, const std::string& target) {
    socket.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
    net::write(socket, net::buffer("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  }

  /// Reads until `text` has arrived, or the connection ends, or 30 s pass; whether `text` arrived.
  bool read_until(const std::string& text) {
    bool ended = false;
    std::function<void()> more = [&] {
      net::async_read_until(socket, net::dynamic_buffer(received), text,
                            [&](const boost::system::error_code& ec, size_t) {
                              if (ec)
                                ended = true;
                            });
    };
    more();
    io.restart();
    io.run_for(std::chrono::seconds(30));
    return !ended && received.find(text) != std::string::npos;
  }

  /// Reads until the server closes the connection (true), or 30 s pass (false).
  bool read_to_end() {
    bool closed = false;
    std::array<char, 4096> chunk;
    std::function<void()> more = [&] {
      socket.async_read_some(net::buffer(chunk), [&](const boost::system::error_code& ec, size_t n) {
        if (ec) {
          closed = true;
          return;
        }
        received.append(chunk.data(), n);
        more();
      });
    };
    more();
    io.restart();
    io.run_for(std::chrono::seconds(30));
    return closed;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(gateway_shutdown, gateway_core)

BOOST_AUTO_TEST_CASE(a_stream_open_when_the_gateway_stops_ends_safely) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  auto id = generate(requester.key, sd);  // no worker yet: it waits
  stream_client client(gw->port(), "/api/v2/generate/events/" + id);
  BOOST_REQUIRE_MESSAGE(client.read_until("event: state"), client.received);
  BOOST_TEST(client.received.find("text/event-stream") != std::string::npos);

  stop_gateway();
  BOOST_TEST(client.read_to_end(), "the stop left the stream's connection open");
  // The job runs on; the stream's actor gets its events and sends them nowhere.
  add_worker("w1", owner.id, std::make_shared<fake_generator>());
  auto done = wait_all({*crowdiff::uuid::parse(id)});
  BOOST_TEST(done.at(0).state() == crowdiff::v1::DONE);
  // The fixture then stops the core: the stream's actor, and with it the connection, ends after the server.
}

BOOST_AUTO_TEST_SUITE_END()
