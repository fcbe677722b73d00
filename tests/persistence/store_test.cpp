#include "persistence/store.hpp"

#include <boost/test/unit_test.hpp>

#include "common/api_key.hpp"
#include "persistence/memory_store.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/user_table.hpp"
#include "temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

BOOST_AUTO_TEST_SUITE(store_suite)

BOOST_AUTO_TEST_CASE(a_new_store_has_the_anonymous_account) {
  auto s = store::open(make_memory_store(), commit_queue::mode::inline_commit);
  BOOST_REQUIRE(s.has_value());
  auto r = (*s)->read();
  auto anon = user_table::find_by_key_hash(**r, hash_api_key(anonymous_api_key));
  BOOST_REQUIRE(anon->has_value());
  BOOST_TEST((*anon)->id() == anonymous_user_id);
  BOOST_TEST((*anon)->anonymous());
}

BOOST_AUTO_TEST_CASE(reopening_does_not_bootstrap_twice) {
  std::shared_ptr<kv_store> kv = make_memory_store();
  { BOOST_REQUIRE(store::open(kv, commit_queue::mode::inline_commit).has_value()); }
  auto s = store::open(kv, commit_queue::mode::inline_commit);
  BOOST_REQUIRE(s.has_value());
  int users = 0;
  auto r = (*s)->read();
  BOOST_TEST(user_table::scan(**r, [&](v1::UserRecord&) {
               ++users;
               return true;
             }).is_ok());
  BOOST_TEST(users == 1);
}

BOOST_AUTO_TEST_CASE(a_store_from_a_newer_crowdiff_is_refused) {
  std::shared_ptr<kv_store> kv = make_memory_store();
  {
    auto w = kv->begin_write();
    BOOST_TEST(write_counter(**w, meta_keys::schema_version, current_schema_version + 1).is_ok());
    BOOST_TEST((*w)->commit().is_ok());
  }
  auto s = store::open(kv, commit_queue::mode::inline_commit);
  BOOST_REQUIRE(!s.has_value());
  BOOST_TEST(s.error().code() == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(opens_lmdb_in_a_directory) {
  crowdiff::testing::temp_dir dir;
  auto s = store::open(store_options{dir.path() / "var", true});
  BOOST_REQUIRE_MESSAGE(s.has_value(), s.to_status().to_string());
  BOOST_TEST(std::filesystem::exists(dir.path() / "var" / "data.mdb"));
}

BOOST_AUTO_TEST_SUITE_END()
