#include "common/log.hpp"

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

using namespace crowdiff;

namespace {
struct capture {
  std::vector<std::string> lines;
  capture() {
    log::set_sink([this](log::level, const std::string& l) { lines.push_back(l); });
  }
  ~capture() {
    log::reset_sink();
    log::set_level(log::level::info);
  }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(log_suite)

BOOST_AUTO_TEST_CASE(writes_logfmt_with_quoting) {
  capture cap;
  log::info("job_state").kv("job", "abc").kv("reason", "no worker \"x\"").kv("step", 3).kv("ok", true);
  BOOST_REQUIRE_EQUAL(cap.lines.size(), 1u);
  const auto& l = cap.lines[0];
  BOOST_TEST(l.find("level=info event=job_state job=abc reason=\"no worker \\\"x\\\"\" step=3 ok=true") !=
             std::string::npos);
  BOOST_TEST(l.rfind("ts=", 0) == 0);
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_are_escaped) {
  capture cap;
  log::info("outside").kv("path", "/\xff\xfe").kv("name", "caf\xc3\xa9");
  BOOST_REQUIRE_EQUAL(cap.lines.size(), 1u);
  const auto& l = cap.lines[0];
  BOOST_TEST(l.find("path=\"/\\xff\\xfe\"") != std::string::npos);
  BOOST_TEST(l.find("name=caf\xc3\xa9") != std::string::npos);  // valid UTF-8 is written as it is
}

BOOST_AUTO_TEST_CASE(level_filters) {
  capture cap;
  log::set_level(log::level::warning);
  log::info("hidden");
  log::error("shown");
  BOOST_REQUIRE_EQUAL(cap.lines.size(), 1u);
  BOOST_TEST(cap.lines[0].find("event=shown") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(parses_levels) {
  log::level lvl;
  BOOST_TEST(log::parse_level("debug", lvl));
  BOOST_TEST((lvl == log::level::debug));
  BOOST_TEST(!log::parse_level("loud", lvl));
}

BOOST_AUTO_TEST_SUITE_END()
