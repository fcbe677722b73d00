// Every attack that once broke the core, against a real `crowdiff core` process: each gets its answer (or its
// connection closed), the heartbeat still answers after it, and the core's resident memory stays bounded.

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "cluster_harness.hpp"
#include "raw_connection.hpp"

using namespace crowdiff;
using namespace crowdiff::testing;
using namespace std::chrono_literals;

namespace {

struct http_core {
  http_core() {
    c.start_core({"--gateway.listen_host=127.0.0.1", "--gateway.header_timeout_ms=2000",
                  "--gateway.body_timeout_ms=2000"});
    c.admin_key();  // the core is up once it has written its key
    for (int i = 0; i < 2000 && heartbeat() != 200u; ++i)
      std::this_thread::sleep_for(5ms);
    BOOST_REQUIRE_MESSAGE(heartbeat() == 200u, c.logs());
  }
  unsigned send(const std::string& request, const std::string& from = {}) {
    raw_connection r(c.http_port(), from);
    r.send(request);
    return raw_connection::status_of(r.read_response());
  }
  unsigned heartbeat() {
    try {
      return send("GET /api/v2/status/heartbeat HTTP/1.1\r\nHost: x\r\n\r\n");
    } catch (const std::exception&) {
      return 0;
    }
  }
  static std::string post(const std::string& path, const std::string& body, const std::string& extra = {}) {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  cluster c;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_traffic)

BOOST_AUTO_TEST_CASE(each_attack_gets_its_answer_and_the_core_stays_up_and_small) {
  http_core h;
  double before = resident_mib(h.c.core_pid());

  // A path that is not UTF-8 used to kill the process (the 404's JSON writer threw).
  BOOST_TEST(h.send("GET /%ff HTTP/1.1\r\nHost: x\r\n\r\n") == 400u);
  BOOST_TEST(h.send("GET /api/v2/workers/name/%ff HTTP/1.1\r\nHost: x\r\n\r\n") == 400u);
  BOOST_TEST(h.heartbeat() == 200u);

  // 100,000 nested arrays (200 KB) overflowed the HTTP thread's stack.
  std::string deep =
      R"({"prompt":"x","params":)" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  BOOST_TEST(h.send(http_core::post("/api/v2/generate/async", deep)) == 400u);
  BOOST_TEST(h.heartbeat() == 200u);

  // Bytes that are not UTF-8 in Client-Agent or Idempotency-Key were stored and broke the records.
  std::string body = R"({"prompt":"a cat"})";
  BOOST_TEST(h.send(http_core::post("/api/v2/generate/async", body, "Client-Agent: bad\xff\r\n")) == 400u);
  BOOST_TEST(h.send(http_core::post("/api/v2/generate/async", body, "Idempotency-Key: \xc3\r\n")) == 400u);
  BOOST_TEST(h.heartbeat() == 200u);

  // Slow headers and stalled bodies from many addresses: held at most their deadlines, capped per address.
  std::vector<std::unique_ptr<raw_connection>> slow;
  for (int i = 0; i < 200; ++i) {
    auto from = "127.0.1." + std::to_string(1 + i / 10);
    slow.push_back(std::make_unique<raw_connection>(h.c.http_port(), from));
    if (i % 2 == 0)
      slow.back()->send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a");
    else
      slow.back()->send(
          "POST /api/v2/generate/async HTTP/1.1\r\nHost: x\r\nContent-Length: 31457280\r\n\r\n[");
  }
  BOOST_TEST(h.heartbeat() == 200u);  // served while they wait
  size_t closed = 0;
  for (auto& s : slow)
    closed += s->closed_by_server(10s) ? 1 : 0;
  BOOST_TEST(closed == slow.size());  // every one cut off by its deadline (or refused at once)
  BOOST_TEST(h.heartbeat() == 200u);

  double after = resident_mib(h.c.core_pid());
  BOOST_TEST(after - before < 100.0, "the core grew from " << before << " to " << after << " MiB");
}

BOOST_AUTO_TEST_SUITE_END()
