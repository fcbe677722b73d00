#include "common/status.hpp"

#include <boost/test/unit_test.hpp>

using namespace crowdiff;

BOOST_AUTO_TEST_SUITE(status_suite)

BOOST_AUTO_TEST_CASE(ok_and_error) {
  status ok;
  BOOST_TEST(ok.is_ok());
  BOOST_TEST(ok.to_string() == "ok");
  status bad{errc::not_found, "job 42"};
  BOOST_TEST(!bad.is_ok());
  BOOST_TEST(bad.to_string() == "not_found: job 42");
  bad.with_context("loading");
  BOOST_TEST(bad.message() == "loading: job 42");
}

BOOST_AUTO_TEST_CASE(result_holds_value_or_error) {
  result<int> good = 7;
  BOOST_TEST(good.has_value());
  BOOST_TEST(*good == 7);
  result<int> bad = status{errc::corruption, "bad bytes"};
  BOOST_TEST(!bad.has_value());
  BOOST_TEST(bad.error().code() == errc::corruption);
  BOOST_TEST(bad.to_status().message() == "bad bytes");
}

BOOST_AUTO_TEST_CASE(every_code_has_a_name) {
  for (int i = 0; i <= static_cast<int>(errc::unsupported); ++i)
    BOOST_TEST(to_string(static_cast<errc>(i)) != "unknown_error");
}

BOOST_AUTO_TEST_SUITE_END()
