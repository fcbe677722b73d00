#include "persistence/user_table.hpp"

#include <boost/test/unit_test.hpp>

#include "common/api_key.hpp"
#include "persistence/detail/key_codec.hpp"
#include "persistence/memory_store.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

BOOST_AUTO_TEST_SUITE(user_table_suite)

BOOST_AUTO_TEST_CASE(create_and_find_by_key_and_name) {
  auto kv = make_memory_store();
  auto key = generate_api_key();
  BOOST_TEST(key.size() == 22u);
  auto w = kv->begin_write();
  auto alice = user_table::create(**w, "Alice", hash_api_key(key), 1000);
  BOOST_REQUIRE(alice.has_value());
  BOOST_TEST(alice->key_hash() != key);  // never the key itself
  auto by_key = user_table::find_by_key_hash(**w, hash_api_key(key));
  BOOST_REQUIRE(by_key->has_value());
  BOOST_TEST((*by_key)->id() == alice->id());
  auto by_name = user_table::find_by_name(**w, "alice");
  BOOST_REQUIRE(by_name->has_value());
  BOOST_TEST((*by_name)->name() == "Alice");
  BOOST_TEST(!user_table::find_by_key_hash(**w, hash_api_key("wrong"))->has_value());
}

// A user whose record was moved aside (it could not be decoded) leaves index entries behind; they name no
// user, so the name and the key can be taken again (the admin is made anew after its record was lost).
BOOST_AUTO_TEST_CASE(a_name_whose_record_is_gone_is_free_again) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  auto first = user_table::create(**w, "admin", hash_api_key("old"), 0, false, true);
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE((*w)->erase(table::users, detail::u64_key(first->id())));
  auto second = user_table::create(**w, "admin", hash_api_key("old"), 1, false, true);
  BOOST_REQUIRE_MESSAGE(second.has_value(), second.to_status().to_string());
  BOOST_TEST(second->id() != first->id());
  auto found = user_table::find_by_name(**w, "admin");
  BOOST_REQUIRE(found->has_value());
  BOOST_TEST((*found)->id() == second->id());
}

BOOST_AUTO_TEST_CASE(duplicates_and_bad_names_change_nothing) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  BOOST_REQUIRE(user_table::create(**w, "bob", hash_api_key("k1"), 0).has_value());
  BOOST_TEST(user_table::create(**w, "BOB", hash_api_key("k2"), 0).error().code() == errc::already_exists);
  BOOST_TEST(user_table::create(**w, "carol", hash_api_key("k1"), 0).error().code() == errc::already_exists);
  BOOST_TEST(user_table::create(**w, "", hash_api_key("k3"), 0).error().code() == errc::invalid_argument);
  BOOST_TEST(user_table::create(**w, std::string("a\0b", 3), hash_api_key("k4"), 0).error().code() ==
             errc::invalid_argument);
  int count = 0;
  BOOST_TEST(user_table::scan(**w, [&](v1::UserRecord&) {
               ++count;
               return true;
             }).is_ok());
  BOOST_TEST(count == 1);
}

BOOST_AUTO_TEST_CASE(api_key_plausibility) {
  BOOST_TEST(plausible_api_key(anonymous_api_key));
  BOOST_TEST(!plausible_api_key(""));
  BOOST_TEST(!plausible_api_key(std::string(129, 'a')));
  BOOST_TEST(!plausible_api_key("has space"));
}

BOOST_AUTO_TEST_SUITE_END()
