#include "common/uuid.hpp"

#include <boost/test/unit_test.hpp>

using namespace crowdiff;

BOOST_AUTO_TEST_SUITE(uuid_suite)

BOOST_AUTO_TEST_CASE(round_trips_text_and_bytes) {
  auto id = uuid::random();
  auto text = id.to_string();
  BOOST_TEST(text.size() == 36u);
  BOOST_TEST(text[14] == '4');
  auto back = uuid::parse(text);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST((*back == id));
  auto raw = uuid::from_bytes(id.to_bytes());
  BOOST_REQUIRE(raw.has_value());
  BOOST_TEST((*raw == id));
}

BOOST_AUTO_TEST_CASE(rejects_malformed_text) {
  BOOST_TEST(!uuid::parse("").has_value());
  BOOST_TEST(!uuid::parse("123e4567-e89b-12d3-a456-42661417400").has_value());
  BOOST_TEST(!uuid::parse("123e4567xe89b-12d3-a456-426614174000").has_value());
  BOOST_TEST(!uuid::parse("123e4567-e89b-12d3-a456-42661417400g").has_value());
  BOOST_TEST(uuid::parse("123E4567-E89B-12D3-A456-426614174000").has_value());
  BOOST_TEST(!uuid::from_bytes("short").has_value());
}

BOOST_AUTO_TEST_CASE(random_ids_differ) {
  BOOST_TEST((uuid::random() != uuid::random()));
}

BOOST_AUTO_TEST_SUITE_END()
