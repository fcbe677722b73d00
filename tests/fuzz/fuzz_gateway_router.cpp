// Requests through the router of a live gateway and core in this process (store, Ledger, Scheduler, Broker,
// HTTP gateway on a loopback port): every route, with no key, the anonymous key, a user's key or a wrong one.
// Each input is one request, sent over a real connection; the answer must come, must not be a 500 (bad input
// gets a clear error), and a JSON answer must be JSON. A crash anywhere in the core ends the run.
//
// Input: byte 0 picks the method, byte 1 the key; then the target up to the first newline (bytes a request
// line cannot carry are percent-encoded), then the body.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/all.hpp>

#include "actors/node/core_node.hpp"
#include "common/log.hpp"
#include "config/node_config.hpp"
#include "gateway/gateway.hpp"
#include "persistence/store.hpp"
#include "protocol/actor_system_setup.hpp"

namespace {

using namespace crowdiff;

// Never destroyed: the core runs until the fuzzer exits.
struct live_core {
  std::filesystem::path dir;
  std::unique_ptr<persistence::store> store;
  std::unique_ptr<caf::actor_system_config> actor_config;
  std::unique_ptr<caf::actor_system> system;
  core_handles core;
  std::unique_ptr<gateway::http_gateway> gateway;
  std::string user_key;
  uint16_t port = 0;
};

live_core* the_core = nullptr;

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "fuzz_gateway_router: %s\n", why.c_str());
  __builtin_trap();
}

live_core* start_core() {
  auto* c = new live_core;
  log::set_level(log::level::error);
  c->dir = std::filesystem::temp_directory_path() / ("crowdiff-fuzz-router-" + std::to_string(getpid()));
  std::filesystem::remove_all(c->dir);
  std::filesystem::create_directories(c->dir);
  auto s = persistence::store::open(persistence::store_options{c->dir, true, 64 << 20, 256});
  if (!s)
    fail("store: " + s.to_status().to_string());
  c->store = std::move(*s);
  auto config = config::with_defaults({});
  config.add_models("stable_diffusion");
  config.mutable_gateway()->set_http_port(0);
  config.mutable_gateway()->set_listen_host("127.0.0.1");
  c->actor_config = std::make_unique<caf::actor_system_config>();
  configure_actor_system(*c->actor_config);
  c->actor_config->set("scheduler.max-threads", 2);
  c->actor_config->set("logger.console", caf::atom("none"));
  c->system = std::make_unique<caf::actor_system>(*c->actor_config);
  c->core = spawn_core(*c->system, *c->store, config);
  caf::scoped_actor self{*c->system};
  self->request(c->core.ledger, std::chrono::seconds(30), user_add_atom::value, std::string("fuzzer"))
      .receive([&](pb<v1::UserRecord>&, std::string& key) { c->user_key = key; },
               [&](caf::error& e) { fail("user_add: " + to_string(e)); });
  auto g = gateway::http_gateway::start(*c->system, c->core, *c->store, config);
  if (!g)
    fail("gateway: " + g.to_status().to_string());
  c->gateway = std::move(*g);
  c->port = c->gateway->port();
  return c;
}

// A request target from arbitrary bytes: what a request line may carry stays, the rest is percent-encoded.
std::string target_of(std::string_view raw) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  if (raw.empty() || raw.front() != '/')
    out = "/";
  for (unsigned char ch : raw) {
    bool plain = (ch > 0x20 && ch < 0x7f && ch != '#') || ch == '%';
    if (plain) {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  the_core = start_core();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  if (size < 2)
    return 0;
  static constexpr std::array<http::verb, 6> methods = {http::verb::get,   http::verb::post,
                                                        http::verb::put,   http::verb::delete_,
                                                        http::verb::patch, http::verb::options};
  auto method = methods[data[0] % methods.size()];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  auto newline = rest.find('\n');
  std::string target = target_of(rest.substr(0, newline));
  std::string body =
      newline == std::string_view::npos ? std::string{} : std::string(rest.substr(newline + 1));

  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  switch (data[1] % 4) {
    case 0:
      break;  // no key: anonymous
    case 1:
      req.set("apikey", "0000000000");
      break;
    case 2:
      req.set("apikey", the_core->user_key);
      break;
    default:
      req.set("apikey", "not-a-key-at-all");
  }
  if (!body.empty() || method == http::verb::post || method == http::verb::put) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
  }

  // Asynchronous operations: libFuzzer's timer signal interrupts blocking calls, and the stream's deadline
  // holds only for these.
  boost::asio::io_context io;
  boost::beast::tcp_stream stream{io};
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  std::string failure;
  bool streamed = false;
  auto failed = [&](const char* what, const boost::beast::error_code& ec) {
    failure = std::string(what) + " " + target + ": " + ec.message();
  };
  stream.expires_after(std::chrono::seconds(8));
  stream.async_connect(
      boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), the_core->port},
      [&](const boost::beast::error_code& ec) {
        if (ec)
          return failed("no connection for", ec);
        http::async_write(stream, req, [&](const boost::beast::error_code& ec, size_t) {
          if (ec)
            return failed("could not send", ec);
          http::async_read_header(stream, buffer, parser, [&](const boost::beast::error_code& ec, size_t) {
            if (ec)
              return failed("no answer to", ec);
            if (parser.get()[http::field::content_type].starts_with("text/event-stream")) {
              streamed = true;  // a live stream: its head is the answer
              return;
            }
            http::async_read(stream, buffer, parser, [&](const boost::beast::error_code& ec, size_t) {
              if (ec)
                return failed("a cut answer to", ec);
            });
          });
        });
      });
  io.run();
  if (!failure.empty())
    fail(failure);
  unsigned status = parser.get().result_int();
  if (status == 500)
    fail("a 500 for " + target + ": " + parser.get().body());
  std::string type(parser.get()[http::field::content_type]);
  const auto& answer = parser.get().body();
  if (!streamed && type == "application/json" && !answer.empty() &&
      nlohmann::json::parse(answer, nullptr, false).is_discarded())
    fail("a JSON answer that is not JSON for " + target);
  return 0;
}
