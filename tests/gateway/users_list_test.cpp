// GET /api/v2/users: every user, sorted by kudos (or age), 25 a page, as AI Horde lists them.
#include <nlohmann/json.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include "core_fixture.hpp"
#include "gateway/gateway.hpp"

namespace {

using crowdiff::testing::core_fixture;
using json = nlohmann::json;
namespace http = boost::beast::http;

struct response {
  unsigned status = 0;
  json body;
};

/// A core with its gateway on an ephemeral loopback port.
struct gateway_fixture : core_fixture {
  gateway_fixture() {
    auto cfg = config;
    cfg.mutable_gateway()->set_http_port(0);
    cfg.mutable_gateway()->set_listen_host("127.0.0.1");
    auto g = crowdiff::gateway::http_gateway::start(*system, core, *store, cfg);
    BOOST_REQUIRE_MESSAGE(g.has_value(), g.to_status().to_string());
    gateway = std::move(*g);
  }
  ~gateway_fixture() override {
    gateway->stop();
    gateway.reset();
  }

  response get(const std::string& target) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver{io};
    boost::beast::tcp_stream stream{io};
    stream.connect(resolver.resolve("127.0.0.1", std::to_string(gateway->port())));
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    boost::beast::error_code ec;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    return {res.result_int(), json::parse(res.body())};
  }

  std::unique_ptr<crowdiff::gateway::http_gateway> gateway;
};

/// The users of a list by name (without "#id"), in order.
std::vector<std::string> names(const json& list) {
  std::vector<std::string> out;
  for (const auto& u : list) {
    auto name = u.at("username").get<std::string>();
    out.push_back(name.substr(0, name.rfind('#')));
  }
  return out;
}

bool kudos_never_rise(const json& list) {
  for (size_t i = 1; i < list.size(); ++i)
    if (list[i].at("kudos").get<double>() > list[i - 1].at("kudos").get<double>())
      return false;
  return true;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(users_list, gateway_fixture)

BOOST_AUTO_TEST_CASE(richest_first_with_user_details) {
  auto poor = add_user("poor", 5);
  add_user("rich", 50);
  add_user("middle", 20.5);
  auto res = get("/api/v2/users?sort=kudos&page=1");
  BOOST_TEST(res.status == 200u);
  BOOST_REQUIRE(res.body.is_array());
  BOOST_TEST(kudos_never_rise(res.body));
  auto order = names(res.body);
  auto at = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  BOOST_TEST(at("rich") < at("middle"));
  BOOST_TEST(at("middle") < at("poor"));
  BOOST_REQUIRE(at("poor") < static_cast<std::ptrdiff_t>(order.size()));
  const auto& p = res.body[static_cast<size_t>(at("poor"))];
  BOOST_TEST(p.at("username").get<std::string>() == "poor#" + std::to_string(poor.id));
  BOOST_TEST(p.at("id").get<uint64_t>() == poor.id);
  BOOST_TEST(p.at("kudos").get<double>() == 5.0);
  BOOST_TEST(p.at("worker_count").get<int>() == 0);
  BOOST_TEST(p.contains("kudos_details"));
  BOOST_TEST(p.contains("records"));
  // The same object as the single-user endpoint gives.
  auto one = get("/api/v2/users/" + std::to_string(poor.id));
  one.body.erase("account_age");
  auto listed = p;
  listed.erase("account_age");
  BOOST_TEST(one.body == listed);
}

BOOST_AUTO_TEST_CASE(kudos_is_the_default_sort) {
  add_user("a", 1);
  add_user("b", 3);
  auto sorted = get("/api/v2/users?sort=kudos");
  auto plain = get("/api/v2/users");
  BOOST_TEST(plain.status == 200u);
  BOOST_TEST(names(plain.body) == names(sorted.body));
}

BOOST_AUTO_TEST_CASE(pages_of_twenty_five) {
  for (int i = 0; i < 30; ++i)
    add_user("user" + std::to_string(i), 100 + i);
  auto p1 = get("/api/v2/users?sort=kudos&page=1");
  auto p2 = get("/api/v2/users?sort=kudos&page=2");
  auto p3 = get("/api/v2/users?sort=kudos&page=3");
  BOOST_TEST(p1.body.size() == 25u);
  BOOST_TEST(p1.body[0].at("username").get<std::string>().rfind("user29#", 0) == 0);
  BOOST_TEST(!p2.body.empty());
  BOOST_TEST(p2.body.size() < 25u);
  BOOST_TEST(p1.body.back().at("kudos").get<double>() >= p2.body.front().at("kudos").get<double>());
  BOOST_TEST(p3.status == 200u);
  BOOST_TEST(p3.body.size() == 0u);
  std::set<uint64_t> seen;
  for (const auto* page : {&p1.body, &p2.body})
    for (const auto& u : *page)
      BOOST_TEST(seen.insert(u.at("id").get<uint64_t>()).second);
  // Every user is on one of the pages: the core's own accounts and the 30 made here.
  BOOST_TEST(seen.size() >= 30u);
}

BOOST_AUTO_TEST_CASE(oldest_first_by_age) {
  add_user("first", 1);
  add_user("second", 99);
  auto res = get("/api/v2/users?sort=age");
  BOOST_TEST(res.status == 200u);
  for (size_t i = 1; i < res.body.size(); ++i)
    BOOST_TEST(res.body[i].at("id").get<uint64_t>() > res.body[i - 1].at("id").get<uint64_t>());
  auto order = names(res.body);
  BOOST_TEST(
      (std::find(order.begin(), order.end(), "first") < std::find(order.begin(), order.end(), "second")));
}

BOOST_AUTO_TEST_CASE(an_unreadable_user_or_worker_is_left_out_not_an_error) {
  add_user("kept", 2);
  auto lost = add_user("lost", 1);
  {
    // A user record and a worker record that no longer decode.
    std::string user_key(8, '\0');
    user_key[7] = static_cast<char>(lost.id);
    auto w = store->kv().begin_write();
    BOOST_REQUIRE((*w)->put(crowdiff::persistence::table::users, user_key, "\x01\xff\xff").is_ok());
    BOOST_REQUIRE(
        (*w)->put(crowdiff::persistence::table::workers, std::string(7, '\0') + "\x09", "\x01\xff").is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  for (const char* sort : {"kudos", "age"}) {
    auto res = get(std::string("/api/v2/users?sort=") + sort);
    BOOST_TEST_CONTEXT("sort=" << sort) {
      BOOST_TEST(res.status == 200u);
      auto order = names(res.body);
      BOOST_TEST((std::find(order.begin(), order.end(), "kept") != order.end()));
      BOOST_TEST((std::find(order.begin(), order.end(), "lost") == order.end()));
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_sort_and_page_are_validation_errors) {
  auto sort = get("/api/v2/users?sort=name");
  BOOST_TEST(sort.status == 400u);
  BOOST_TEST(sort.body.at("rc").get<std::string>() == "ValidationError");
  BOOST_TEST(sort.body.at("errors").contains("sort"));
  for (const char* page : {"0", "-1", "abc", "1.5", "", "12345678901"}) {
    auto res = get(std::string("/api/v2/users?page=") + page);
    BOOST_TEST_CONTEXT("page=" << page) {
      BOOST_TEST(res.status == 400u);
      BOOST_TEST(res.body.at("errors").contains("page"));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
