#include "gateway/bounded_json.hpp"

#include <boost/test/unit_test.hpp>

#include "gateway/horde_json.hpp"

using namespace crowdiff;
using namespace crowdiff::gateway;

BOOST_AUTO_TEST_SUITE(bounded_json_suite)

BOOST_AUTO_TEST_CASE(parses_what_clients_send) {
  auto j = parse_bounded_json(R"({"prompt":"caf\u00e9","params":{"n":2,"loras":[{"name":"x"}]}})", {});
  BOOST_REQUIRE(j.has_value());
  BOOST_TEST(j->at("params").at("n") == 2);
  BOOST_TEST(j->at("prompt") == "caf\xc3\xa9");
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_refused_while_parsing) {
  // 100,000 levels: parsing it whole (or copying it) would overflow the stack.
  std::string deep = "{\"params\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  auto j = parse_bounded_json(deep, {32, 100'000});
  BOOST_REQUIRE(!j.has_value());
  BOOST_TEST(j.error().code() == errc::invalid_argument);
  BOOST_TEST(j.error().message().find("nested deeper than 32") != std::string::npos);
  // Unclosed, too: refused at the first level past the limit, not at the end.
  BOOST_TEST(!parse_bounded_json(std::string(1'000'000, '['), {32, 100'000}).has_value());
  std::string at_limit = std::string(32, '[') + std::string(32, ']');
  BOOST_TEST(parse_bounded_json(at_limit, {32, 100'000}).has_value());
  BOOST_TEST(!parse_bounded_json("[" + at_limit + "]", {32, 100'000}).has_value());
}

BOOST_AUTO_TEST_CASE(too_many_values_are_refused) {
  std::string many = "[0";
  for (int i = 0; i < 2000; ++i)
    many += ",0";
  many += "]";
  auto j = parse_bounded_json(many, {32, 1000});
  BOOST_REQUIRE(!j.has_value());
  BOOST_TEST(j.error().message().find("more than 1000 values") != std::string::npos);
  BOOST_TEST(parse_bounded_json(many, {32, 10'000}).has_value());
}

BOOST_AUTO_TEST_CASE(bad_json_is_a_clear_error_never_an_exception) {
  for (std::string bad : {"", "{", "{\"a\":}", "nul", "\"\xff\"", "{\"a\":\"\xc3\"}", "[1,]", "{} {}"}) {
    auto j = parse_bounded_json(bad, {});
    BOOST_TEST(!j.has_value(), bad);
    if (!j.has_value())
      BOOST_TEST(j.error().message().find("not valid JSON") != std::string::npos, j.error().message());
  }
}

BOOST_AUTO_TEST_CASE(the_writer_never_throws) {
  nlohmann::json j;
  j["message"] = "no such endpoint: GET /\xff\xfe";
  std::string out;
  BOOST_CHECK_NO_THROW(out = write_json(j));
  BOOST_TEST(out.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD in place of the bad bytes
  BOOST_CHECK_NO_THROW(out = error_body("bad \xc3", "BadRequest", {{"field\xff", "is \xfe"}}));
  BOOST_TEST(!out.empty());
}

BOOST_AUTO_TEST_SUITE_END()
