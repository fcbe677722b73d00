#include "gateway/upload_store.hpp"

#include <boost/test/unit_test.hpp>

using namespace crowdiff;
using namespace crowdiff::gateway;

BOOST_AUTO_TEST_SUITE(upload_store_suite)

BOOST_AUTO_TEST_CASE(an_upload_is_taken_once) {
  upload_store s(1000, 60'000);
  auto id = uuid::random();
  BOOST_REQUIRE(s.put(id, "png bytes", 0));
  BOOST_TEST(s.bytes() == 9u);
  auto got = s.take(id, 10);
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(*got == "png bytes");
  BOOST_TEST(!s.take(id, 10).has_value());
  BOOST_TEST(s.bytes() == 0u);
}

BOOST_AUTO_TEST_CASE(uploads_that_wait_too_long_are_dropped) {
  upload_store s(1000, 60'000);
  auto old = uuid::random();
  auto fresh = uuid::random();
  BOOST_REQUIRE(s.put(old, std::string(100, 'a'), 0));
  BOOST_REQUIRE(s.put(fresh, std::string(100, 'b'), 50'000));
  BOOST_TEST(!s.take(old, 60'001).has_value());  // expired
  BOOST_TEST(s.take(fresh, 60'001).has_value());
  BOOST_TEST(s.bytes() == 0u);
  BOOST_TEST(s.size() == 0u);
}

BOOST_AUTO_TEST_CASE(the_total_is_capped_and_expiry_frees_room) {
  upload_store s(1000, 60'000);
  BOOST_REQUIRE(s.put(uuid::random(), std::string(600, 'a'), 0));
  auto refused = s.put(uuid::random(), std::string(600, 'b'), 1);
  BOOST_TEST(!refused);
  BOOST_TEST(refused.code() == errc::resource_exhausted);
  BOOST_TEST(s.bytes() == 600u);
  BOOST_TEST(s.put(uuid::random(), std::string(600, 'c'), 60'001).is_ok());  // the first has expired
  BOOST_TEST(s.bytes() == 600u);
}

BOOST_AUTO_TEST_CASE(a_second_upload_for_an_image_replaces_the_first) {
  upload_store s(1000, 60'000);
  auto id = uuid::random();
  BOOST_REQUIRE(s.put(id, std::string(600, 'a'), 0));
  BOOST_REQUIRE(s.put(id, std::string(700, 'b'), 5));
  BOOST_TEST(s.bytes() == 700u);
  BOOST_TEST(s.size() == 1u);
  BOOST_TEST(s.take(id, 6)->front() == 'b');
}

BOOST_AUTO_TEST_SUITE_END()
