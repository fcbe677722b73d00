// The Ledger's accounting core (actors/ledger/accounting) on its own: no actors, the store in memory.

#include "actors/ledger/accounting.hpp"

#include <boost/test/unit_test.hpp>

#include "config/node_config.hpp"
#include "persistence/memory_store.hpp"
#include "persistence/store.hpp"
#include "persistence/user_table.hpp"

namespace crowdiff {
namespace {

using persistence::ledger_book;

v1::UserRecord user(uint64_t id, const std::string& name, bool anonymous = false) {
  v1::UserRecord u;
  u.set_id(id);
  u.set_name(name);
  u.set_anonymous(anonymous);
  return u;
}

const v1::LedgerConfig& ledger_config() {
  static const auto c = config::with_defaults({}).ledger();
  return c;
}

const uuid key = uuid::random();

}  // namespace

BOOST_AUTO_TEST_SUITE(accounting_suite)

BOOST_AUTO_TEST_CASE(transfers_are_refused_in_a_stated_order) {
  ledger::account_holder alice{7, false};
  ledger::account_holder stranger{1, true};
  auto bob = user(8, "bob");
  auto code = [](const result<ledger::planned_transfer>& r) { return r ? errc::ok : r.error().code(); };
  BOOST_TEST((code(ledger::plan_transfer(stranger, "nobody", std::nullopt, -1, "", key, ledger_config())) ==
              errc::permission_denied));
  BOOST_TEST((code(ledger::plan_transfer(alice, "nobody", std::nullopt, 0, "", key, ledger_config())) ==
              errc::invalid_argument));
  BOOST_TEST((code(ledger::plan_transfer(alice, "bob", bob, 5, std::string(201, 'k'), key,
                                         ledger_config())) == errc::invalid_argument));
  BOOST_TEST((code(ledger::plan_transfer(alice, "nobody", std::nullopt, 5, "", key, ledger_config())) ==
              errc::not_found));
  BOOST_TEST((code(ledger::plan_transfer(alice, "anon", user(1, "anon", true), 5, "", key,
                                         ledger_config())) == errc::permission_denied));
  BOOST_TEST((code(ledger::plan_transfer(alice, "alice", user(7, "alice"), 5, "", key, ledger_config())) ==
              errc::invalid_argument));
  BOOST_TEST((code(ledger::plan_transfer(alice, "bob", bob, 5, std::string(200, 'k'), key,
                                         ledger_config())) == errc::ok));
}

BOOST_AUTO_TEST_CASE(a_transfer_without_a_key_gets_a_fresh_cause_and_one_with_a_key_is_replayable) {
  ledger::account_holder alice{7, false};
  auto bob = user(8, "bob");
  auto a = ledger::plan_transfer(alice, "bob", bob, 5, "", uuid::random(), ledger_config());
  auto b = ledger::plan_transfer(alice, "bob", bob, 5, "", uuid::random(), ledger_config());
  BOOST_REQUIRE(a && b);
  BOOST_TEST(a->cause != b->cause);
  auto c = ledger::plan_transfer(alice, "bob", bob, 5, "k1", uuid::random(), ledger_config());
  BOOST_REQUIRE(c);
  BOOST_TEST(c->cause == "xfer:7:k1");
  BOOST_TEST(c->floor_mk == ledger::floor_mk(false, ledger_config()));
  BOOST_TEST(c->memo == "transfer to bob");
}

BOOST_AUTO_TEST_CASE(a_replayed_transfer_returns_the_first_entry_and_a_changed_one_conflicts) {
  auto s = persistence::store::open(persistence::make_memory_store(),
                                    persistence::commit_queue::mode::inline_commit);
  BOOST_REQUIRE(s.has_value());
  auto& store = **s;
  uint64_t alice = 0, bob = 0;
  auto seeded = store.write_sync([&](persistence::write_txn& txn) -> status {
    auto a = persistence::user_table::create(txn, "alice", std::string(32, 'a'), 1);
    auto b = persistence::user_table::create(txn, "bob", std::string(32, 'b'), 1);
    if (!a)
      return a.error();
    if (!b)
      return b.error();
    alice = a->id();
    bob = b->id();
    return ledger::apply_grant(txn, *ledger::plan_grant(alice, 10'000, "seed"), 1).to_status();
  });
  BOOST_REQUIRE_MESSAGE(seeded, seeded.to_string());
  auto plan =
      *ledger::plan_transfer({alice, false}, "bob", user(bob, "bob"), 3'000, "k", key, ledger_config());
  v1::LedgerEntry first, again;
  BOOST_REQUIRE(store.write_sync([&](persistence::write_txn& txn) -> status {
    auto e = ledger::apply_transfer(txn, plan, 2);
    if (e)
      first = *e;
    return e.to_status();
  }));
  BOOST_REQUIRE(store.write_sync([&](persistence::write_txn& txn) -> status {
    auto e = ledger::apply_transfer(txn, plan, 3);
    if (e)
      again = *e;
    return e.to_status();
  }));
  BOOST_TEST(again.sequence() == first.sequence());
  auto changed = plan;
  changed.amount_mk = 4'000;
  auto conflict = store.write_sync([&](persistence::write_txn& txn) -> status {
    return ledger::apply_transfer(txn, changed, 4).to_status();
  });
  BOOST_TEST((conflict.code() == errc::already_exists));
  auto too_much =
      *ledger::plan_transfer({alice, false}, "bob", user(bob, "bob"), 8'000, "k2", key, ledger_config());
  auto refused = store.write_sync([&](persistence::write_txn& txn) -> status {
    return ledger::apply_transfer(txn, too_much, 5).to_status();
  });
  BOOST_TEST((refused.code() == errc::insufficient_kudos));
  auto txn = store.read();
  BOOST_REQUIRE(txn.has_value());
  BOOST_TEST(ledger_book::balance(**txn, alice)->balance_mk() == 7'000);
  BOOST_TEST(ledger_book::balance(**txn, bob)->balance_mk() == 3'000);
}

BOOST_AUTO_TEST_CASE(grants_need_an_amount_a_cause_and_a_user) {
  BOOST_TEST((ledger::plan_grant(7, 0, "c").to_status().code() == errc::invalid_argument));
  BOOST_TEST((ledger::plan_grant(7, 5, "").to_status().code() == errc::invalid_argument));
  auto g = ledger::plan_grant(7, 5, "c");
  BOOST_REQUIRE(g);
  BOOST_TEST(g->cause == "grant:c");
  BOOST_TEST((ledger::check_grantee(user(1, "anon", true)).code() == errc::permission_denied));
  auto s = persistence::store::open(persistence::make_memory_store(),
                                    persistence::commit_queue::mode::inline_commit);
  BOOST_REQUIRE(s.has_value());
  auto missing = (*s)->write_sync(
      [&](persistence::write_txn& txn) -> status { return ledger::apply_grant(txn, *g, 1).to_status(); });
  BOOST_TEST((missing.code() == errc::not_found));
}

BOOST_AUTO_TEST_CASE(uptime_is_pro_rata_per_worker_and_nothing_for_nothing) {
  // 50 kudos per 10 minutes per serving worker (the default): 3 workers for 60 s earn 15 kudos.
  auto pay = ledger::plan_uptime(9, 3, 1'000, 61'000, ledger_config());
  BOOST_REQUIRE(pay.has_value());
  BOOST_TEST(pay->amount_mk == 15'000);
  BOOST_TEST(pay->credit == 9u);
  BOOST_TEST(pay->cause == "uptime:9:61000");
  BOOST_TEST(!ledger::plan_uptime(9, 3, 61'000, 61'000, ledger_config()).has_value());
  BOOST_TEST(!ledger::plan_uptime(9, 0, 1'000, 61'000, ledger_config()).has_value());
  BOOST_TEST(!ledger::plan_uptime(0, 3, 1'000, 61'000, ledger_config()).has_value());
  BOOST_TEST(!ledger::plan_uptime(9, 1, 1'000, 1'001, ledger_config())
                  .has_value());  // 0.08 milli-kudos: rounds to nothing
  auto none = ledger_config();
  none.set_uptime_kudos_per_10_min(0);
  BOOST_TEST(!ledger::plan_uptime(9, 3, 1'000, 61'000, none).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff
