#include "persistence/store.hpp"

#include <boost/test/unit_test.hpp>

#include "common/api_key.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/memory_store.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/user_table.hpp"
#include "persistence/worker_table.hpp"
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

namespace {

// Users alice, bob, carol (ids 2, 3, 4) with 30, -5 and 30 kudos (carol ties alice: the older id first),
// dave (5) who never moved; workers "gpu" owned by alice and bob, "cpu" by alice.
void fill(write_txn& txn) {
  for (const char* name : {"alice", "bob", "carol", "dave"})
    BOOST_REQUIRE(
        user_table::create(txn, name, hash_api_key(std::string(name) + "-key-0123456789"), 0).has_value());
  BOOST_REQUIRE(ledger_book::post(txn, {mint_account, 2, 30'000, v1::GRANT, "g2", {}, 0}, 0).has_value());
  BOOST_REQUIRE(ledger_book::post(txn, {3, burn_account, 5'000, v1::GRANT, "b3", {}, 0}, 0).has_value());
  BOOST_REQUIRE(ledger_book::post(txn, {mint_account, 4, 30'000, v1::GRANT, "g4", {}, 0}, 0).has_value());
  for (auto [owner, name] : {std::pair<uint64_t, const char*>{2, "gpu"}, {3, "gpu"}, {2, "cpu"}}) {
    v1::WorkerRegistration reg;
    reg.set_owner_user_id(owner);
    reg.set_name(name);
    BOOST_REQUIRE(worker_table::upsert(txn, reg, 0).has_value());
  }
}

void check_indexes(read_txn& txn) {
  auto top = ledger_book::richest(txn, 0, 10);
  BOOST_REQUIRE(top.has_value());
  // The anonymous account (1) and dave sit at zero; bob is last; MINT and BURN are not users.
  std::vector<std::pair<uint64_t, int64_t>> expected = {
      {2, 30'000}, {4, 30'000}, {1, 0}, {5, 0}, {3, -5'000}};
  BOOST_REQUIRE_EQUAL(top->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST(top->at(i).first == expected[i].first);
    BOOST_TEST(top->at(i).second == expected[i].second);
  }
  auto page = ledger_book::richest(txn, 1, 2);
  BOOST_REQUIRE(page.has_value());
  BOOST_TEST(page->size() == 2u);
  BOOST_TEST(page->at(0).first == 4u);
  BOOST_TEST(page->at(1).first == 1u);
  auto gpus = worker_table::ids_named(txn, "gpu");
  BOOST_REQUIRE(gpus.has_value());
  BOOST_TEST(gpus->size() == 2u);
  BOOST_TEST(worker_table::ids_named(txn, "gp")->empty());  // a prefix of a name is not the name
  // A name with a NUL (a hostile path segment) finds nothing, not another worker's index entry.
  BOOST_TEST(worker_table::ids_named(txn, std::string("gpu\0", 4) + std::string(7, '\0'))->empty());
  BOOST_TEST(worker_table::ids_of_owner(txn, 2)->size() == 2u);
  BOOST_TEST(worker_table::ids_of_owner(txn, 3)->size() == 1u);
  auto oldest = user_table::oldest(txn, 1, 2);
  BOOST_REQUIRE(oldest.has_value());
  BOOST_TEST(*oldest == (std::vector<uint64_t>{2, 3}), boost::test_tools::per_element());
}

}  // namespace

BOOST_AUTO_TEST_CASE(lookups_by_name_and_by_kudos_read_indexes_kept_by_every_write) {
  auto s = store::open(make_memory_store(), commit_queue::mode::inline_commit);
  BOOST_REQUIRE(s.has_value());
  BOOST_REQUIRE((*s)->write_sync([](write_txn& txn) -> status {
                      fill(txn);
                      return status::ok();
                    })
                    .is_ok());
  auto r = (*s)->read();
  check_indexes(**r);
}

BOOST_AUTO_TEST_CASE(a_schema_1_store_gets_its_indexes_when_opened) {
  std::shared_ptr<kv_store> kv = make_memory_store();
  {
    auto s = store::open(kv, commit_queue::mode::inline_commit);
    BOOST_REQUIRE(s.has_value());
    BOOST_REQUIRE((*s)->write_sync([](write_txn& txn) -> status {
                        fill(txn);
                        return status::ok();
                      })
                      .is_ok());
  }
  {
    // As schema 1 left it: no index tables, and some users without a balance record.
    auto w = kv->begin_write();
    for (auto t : {table::workers_by_bare_name, table::balances_by_amount}) {
      std::vector<std::string> keys;
      BOOST_TEST((*w)->scan(t, {},
                            [&](std::string_view k, std::string_view) {
                              keys.emplace_back(k);
                              return true;
                            })
                     .is_ok());
      for (const auto& k : keys)
        BOOST_TEST((*w)->erase(t, k).is_ok());
    }
    BOOST_TEST((*w)->erase(table::balances, std::string("\0\0\0\0\0\0\0\x05", 8)).is_ok());
    BOOST_TEST(write_counter(**w, meta_keys::schema_version, 1).is_ok());
    BOOST_TEST((*w)->commit().is_ok());
  }
  auto s = store::open(kv, commit_queue::mode::inline_commit);
  BOOST_REQUIRE_MESSAGE(s.has_value(), s.to_status().to_string());
  auto r = (*s)->read();
  BOOST_TEST(*read_counter(**r, meta_keys::schema_version) == current_schema_version);
  check_indexes(**r);
}

BOOST_AUTO_TEST_SUITE_END()
