#include "persistence/kv_store.hpp"

#include <map>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "persistence/lmdb_store.hpp"
#include "persistence/memory_store.hpp"
#include "temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

namespace {

// Runs `body` against both implementations: they must behave the same.
template <class Body>
void for_each_store(Body body) {
  body(make_memory_store());
  crowdiff::testing::temp_dir dir;
  auto lmdb = open_lmdb_store({dir.path(), false, 1 << 20});
  BOOST_REQUIRE_MESSAGE(lmdb.has_value(), lmdb.to_status().to_string());
  body(std::move(*lmdb));
}

std::string get_or(read_txn& txn, table t, std::string_view key, std::string fallback = "<absent>") {
  auto v = txn.get(t, key);
  BOOST_REQUIRE(v.has_value());
  return v->has_value() ? std::string(**v) : fallback;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kv_store_suite)

BOOST_AUTO_TEST_CASE(put_get_erase_and_isolation) {
  for_each_store([](std::unique_ptr<kv_store> kv) {
    {
      auto w = kv->begin_write();
      BOOST_REQUIRE(w.has_value());
      BOOST_TEST((*w)->put(table::jobs, "a", "1").is_ok());
      BOOST_TEST((*w)->put(table::users, "a", "other table").is_ok());
      BOOST_TEST(get_or(**w, table::jobs, "a") == "1");  // reads its own writes
      BOOST_TEST((*w)->commit().is_ok());
    }
    {
      auto r = kv->begin_read();
      BOOST_REQUIRE(r.has_value());
      BOOST_TEST(get_or(**r, table::jobs, "a") == "1");
      BOOST_TEST(get_or(**r, table::users, "a") == "other table");
      BOOST_TEST(get_or(**r, table::jobs, "b") == "<absent>");
    }
    {
      auto w = kv->begin_write();
      BOOST_TEST((*w)->erase(table::jobs, "a").is_ok());
      BOOST_TEST((*w)->erase(table::jobs, "never").is_ok());
      (*w)->abort();
    }
    {
      auto r = kv->begin_read();
      BOOST_TEST(get_or(**r, table::jobs, "a") == "1");  // the abort kept it
    }
  });
}

BOOST_AUTO_TEST_CASE(scan_is_ordered_and_respects_prefix) {
  for_each_store([](std::unique_ptr<kv_store> kv) {
    auto w = kv->begin_write();
    for (std::string k : {"b2", "a1", "b1", "c1", "b3"})
      BOOST_TEST((*w)->put(table::meta, k, k).is_ok());
    BOOST_TEST((*w)->erase(table::meta, "b2").is_ok());
    std::vector<std::string> seen;
    BOOST_TEST((*w)->scan_prefix(table::meta, "b",
                                 [&](std::string_view k, std::string_view) {
                                   seen.emplace_back(k);
                                   return true;
                                 })
                   .is_ok());
    BOOST_TEST((seen == std::vector<std::string>{"b1", "b3"}));
    BOOST_TEST((*w)->commit().is_ok());
    auto r = kv->begin_read();
    seen.clear();
    BOOST_TEST((*r)->scan(table::meta, "b1",
                          [&](std::string_view k, std::string_view) {
                            seen.emplace_back(k);
                            return seen.size() < 2;
                          })
                   .is_ok());
    BOOST_TEST((seen == std::vector<std::string>{"b1", "b3"}));
  });
}

BOOST_AUTO_TEST_CASE(child_transactions_commit_into_parent_or_vanish) {
  for_each_store([](std::unique_ptr<kv_store> kv) {
    auto w = kv->begin_write();
    BOOST_TEST((*w)->put(table::meta, "parent", "p").is_ok());
    {
      auto kept = (*w)->begin_child();
      BOOST_REQUIRE(kept.has_value());
      BOOST_TEST((*kept)->put(table::meta, "kept", "k").is_ok());
      BOOST_TEST(get_or(**kept, table::meta, "parent") == "p");
      BOOST_TEST((*kept)->commit().is_ok());
    }
    {
      auto dropped = (*w)->begin_child();
      BOOST_TEST((*dropped)->put(table::meta, "dropped", "d").is_ok());
      BOOST_TEST((*dropped)->erase(table::meta, "parent").is_ok());
      (*dropped)->abort();
    }
    BOOST_TEST(get_or(**w, table::meta, "kept") == "k");
    BOOST_TEST(get_or(**w, table::meta, "dropped") == "<absent>");
    BOOST_TEST(get_or(**w, table::meta, "parent") == "p");
    BOOST_TEST((*w)->commit().is_ok());
    auto r = kv->begin_read();
    BOOST_TEST(get_or(**r, table::meta, "kept") == "k");
    BOOST_TEST(get_or(**r, table::meta, "dropped") == "<absent>");
  });
}

BOOST_AUTO_TEST_CASE(unfinished_write_is_aborted_on_destruction) {
  for_each_store([](std::unique_ptr<kv_store> kv) {
    {
      auto w = kv->begin_write();
      BOOST_TEST((*w)->put(table::meta, "x", "1").is_ok());
    }
    auto r = kv->begin_read();
    BOOST_TEST(get_or(**r, table::meta, "x") == "<absent>");
  });
}

BOOST_AUTO_TEST_SUITE_END()
