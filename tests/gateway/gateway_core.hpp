#pragma once

// A whole core in one process (the core fixture of tests/actors) with its HTTP gateway on an ephemeral
// loopback port, and a small blocking Boost.Beast client to speak to it as AI Horde clients and workers do.

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include "core_fixture.hpp"
#include "gateway/gateway.hpp"
#include "test_image.hpp"

namespace crowdiff::testing {

/// One HTTP exchange's answer.
struct http_answer {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;

  /// The body as JSON (discarded when it is not JSON).
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// Sends one request on a fresh connection and reads the answer (bounded by a 30 s timeout).
inline http_answer http_exchange(uint16_t port, const std::string& method, const std::string& target,
                                 const std::string& body = {},
                                 const std::map<std::string, std::string>& headers = {}) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::beast::tcp_stream stream{io};
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers)
    req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    if (headers.count("Content-Type") == 0)
      req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  http::read(stream, buffer, parser);
  auto res = parser.release();
  http_answer out;
  out.status = res.result_int();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  out.body = std::move(res.body());
  boost::beast::error_code ec;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return out;
}

/// A core with its gateway (rate limits off on loopback, the test-user endpoint on).
class gateway_core : public core_fixture {
 public:
  gateway_core() {
    config.mutable_gateway()->set_webhook_http_loopback(true);  // the tests' receivers are plain http
    start_gateway();
  }
  ~gateway_core() override { stop_gateway(); }

  /// Starts the gateway on `config` (a test may change `config.gateway()` and start it again).
  void start_gateway() {
    auto cfg = config;
    cfg.mutable_gateway()->set_http_port(0);
    cfg.mutable_gateway()->set_listen_host("127.0.0.1");
    cfg.mutable_gateway()->set_test_user_endpoint(true);
    auto g = gateway::http_gateway::start(*system, core, *store, cfg);
    BOOST_REQUIRE_MESSAGE(g.has_value(), g.to_status().to_string());
    gw = std::move(*g);
  }
  void stop_gateway() {
    if (!gw)
      return;
    gw->stop();
    gw.reset();
  }

  /// Stops the gateway and the core, as a clean shutdown does, and starts both again on the same store (the
  /// gateway on a new port).
  void restart_all() {
    stop_gateway();
    restart();
    start_gateway();
  }

  http_answer call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr,
                   const std::string& key = {}) {
    std::map<std::string, std::string> headers;
    if (!key.empty())
      headers["apikey"] = key;
    return http_exchange(gw->port(), method, path, body.is_null() ? std::string{} : body.dump(), headers);
  }

  /// Calls and requires `status` with a JSON body; returns the body.
  nlohmann::json call_ok(const std::string& method, const std::string& path, const nlohmann::json& body,
                         const std::string& key, unsigned status = 200) {
    auto a = call(method, path, body, key);
    BOOST_REQUIRE_MESSAGE(a.status == status,
                          method + " " + path + ": " + std::to_string(a.status) + " " + a.body);
    BOOST_REQUIRE_EQUAL(a.header("content-type"), "application/json");
    auto j = a.json();
    BOOST_REQUIRE(!j.is_discarded());
    return j;
  }

  /// POSTs a request for `model`; returns its id.
  std::string generate(const std::string& key, const std::string& model, int n = 1) {
    auto j = call_ok(
        "POST", "/api/v2/generate/async",
        {{"prompt", "a lighthouse at dusk"}, {"models", {model}}, {"params", {{"steps", 5}, {"n", n}}}}, key,
        202);
    return j.at("id").get<std::string>();
  }

  /// Checks a job until `pred(check)` holds (a worker's fault reaches the job a moment after the submit is
  /// answered); bounded.
  template <class Pred>
  nlohmann::json check_until(const std::string& id, Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + patience;
    nlohmann::json check;
    while (std::chrono::steady_clock::now() < deadline) {
      check = call_ok("GET", "/api/v2/generate/check/" + id, nullptr, {});
      if (pred(check))
        return check;
      std::this_thread::yield();
    }
    BOOST_FAIL("job " + id + " never got there: " + check.dump());
    return check;
  }

  /// A pop as reGen sends it.
  nlohmann::json pop(const std::string& key, const std::string& name, const std::string& model) {
    return call_ok(
        "POST", "/api/v2/generate/pop",
        {{"name", name},
         {"models", {model}},
         {"max_pixels", 524288},
         {"threads", 1},
         {"bridge_agent", "AI Horde Worker reGen:10.1.1:https://github.com/Haidra-Org/horde-worker-reGen"}},
        key);
  }

  /// Pops until a job comes (an empty pop is held for up to a second); bounded.
  nlohmann::json pop_job(const std::string& key, const std::string& name, const std::string& model) {
    for (int i = 0; i < 30; ++i) {
      auto j = pop(key, name, model);
      if (!j.at("id").is_null())
        return j;
    }
    BOOST_FAIL("worker " + name + " got no job");
    return {};
  }

  /// The reGen path: PUT the image to the pop's upload link, then submit "R2".
  nlohmann::json finish(const std::string& key, const nlohmann::json& popped) {
    auto link = popped.at("r2_uploads").at(0).get<std::string>();
    auto path = link.substr(link.find("/api/"));
    auto put = http_exchange(gw->port(), "PUT", path, png(popped), {{"Content-Type", "image/png"}});
    BOOST_REQUIRE_MESSAGE(put.status == 200, put.body);
    return call_ok("POST", "/api/v2/generate/submit",
                   {{"id", popped.at("id")}, {"generation", "R2"}, {"state", "ok"}, {"seed", 1312}}, key);
  }

  /// A real PNG of the popped job's size (results are decoded and checked before anyone is paid).
  static std::string png(const nlohmann::json& popped) {
    const auto& p = popped.at("payload");
    return test_png(p.at("width").get<uint32_t>(), p.at("height").get<uint32_t>(),
                    std::stoull(p.at("seed").get<std::string>()));
  }

  std::unique_ptr<gateway::http_gateway> gw;
};

}  // namespace crowdiff::testing
