// The Ledger actor on CAF's test coordinator, over a store that fails when told to: it replies only after
// a durable commit, and a write that fails changes nothing and says so.

#include "actors/ledger/ledger_actor.hpp"

#include <boost/test/unit_test.hpp>

#include "actors/ledger/ledger_state.hpp"
#include "config/node_config.hpp"
#include "deterministic_fixture.hpp"
#include "persistence/ledger_book.hpp"

namespace crowdiff {
namespace {

struct account {
  uint64_t id = 0;
  std::string key;
};

class ledger_fixture : public testing::deterministic_fixture {
 public:
  ledger_fixture() {
    ledger = spawn(ledger_fn, ledger_options{store.get(), config::with_defaults({}).ledger(), clock});
  }

  account add_user(const std::string& name) {
    auto pending = self()->request(ledger, caf::infinite, user_add_atom::value, name);
    run();
    account out;
    pending.receive(
        [&](pb<v1::UserRecord>& user, std::string& key) {
          out.id = user.value.id();
          out.key = key;
        },
        [&](caf::error& e) { BOOST_FAIL("user_add failed: " << to_status(e).to_string()); });
    return out;
  }

  int64_t balance(const account& a) {
    auto b = ask<pb<v1::Balance>>(ledger, balance_atom::value, a.key);
    BOOST_REQUIRE_MESSAGE(b.has_value(), b.to_status().to_string());
    return b->value.balance_mk();
  }

  result<pb<v1::LedgerEntry>> grant(const account& a, int64_t amount_mk, const std::string& cause) {
    return ask<pb<v1::LedgerEntry>>(ledger, grant_atom::value, a.id, amount_mk, cause);
  }

  result<pb<v1::LedgerEntry>> transfer(const account& from, const std::string& to, int64_t amount_mk,
                                       const std::string& idempotency_key) {
    return ask<pb<v1::LedgerEntry>>(ledger, transfer_atom::value, from.key, to, amount_mk, idempotency_key);
  }

  /// The books balance: users hold exactly what was minted less what was burned.
  void books_balance() {
    auto audit = ask<pb<v1::LedgerAudit>>(ledger, audit_atom::value);
    BOOST_REQUIRE(audit.has_value());
    BOOST_TEST(audit->value.sum_of_balances_mk() == audit->value.minted_mk() - audit->value.burned_mk());
  }

  uint64_t journal_entries() {
    auto audit = ask<pb<v1::LedgerAudit>>(ledger, audit_atom::value);
    BOOST_REQUIRE(audit.has_value());
    return audit->value.entries();
  }

  ledger_actor ledger;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(ledger_actor_suite, ledger_fixture)

BOOST_AUTO_TEST_CASE(a_transfer_whose_commit_fails_is_refused_changes_nothing_and_can_be_retried) {
  auto alice = add_user("alice");
  auto bob = add_user("bob");
  BOOST_REQUIRE(grant(alice, 10'000, "seed"));
  uint64_t entries = journal_entries();
  kv->fail_commit(1);
  auto failed = transfer(alice, "bob", 4'000, "pay-1");
  BOOST_REQUIRE(!failed);
  BOOST_TEST((failed.error().code() == errc::unavailable));
  BOOST_TEST(balance(alice) == 10'000);
  BOOST_TEST(balance(bob) == 0);
  BOOST_TEST(journal_entries() == entries);
  // Nothing of it reached the disk either: a restart on the same data sees the same books.
  reopen_store();
  ledger = spawn(ledger_fn, ledger_options{store.get(), config::with_defaults({}).ledger(), clock});
  BOOST_TEST(balance(alice) == 10'000);
  // The same key again is a first transfer, not the replay of one that never happened.
  auto retried = transfer(alice, "bob", 4'000, "pay-1");
  BOOST_REQUIRE_MESSAGE(retried.has_value(), retried.to_status().to_string());
  BOOST_TEST(balance(alice) == 6'000);
  BOOST_TEST(balance(bob) == 4'000);
  books_balance();
}

BOOST_AUTO_TEST_CASE(a_write_failing_half_way_through_a_transfer_leaves_no_half_entry) {
  auto alice = add_user("alice");
  auto bob = add_user("bob");
  BOOST_REQUIRE(grant(alice, 10'000, "seed"));
  uint64_t entries = journal_entries();
  // A transfer writes its journal entry and both balances (and their indexes): fail a write after the first.
  for (uint64_t n = 2; n <= 4; ++n) {
    kv->fail_write(n);
    auto failed = transfer(alice, "bob", 1'000, "k" + std::to_string(n));
    BOOST_REQUIRE(!failed);
    BOOST_TEST((failed.error().code() == errc::unavailable));
    kv->fail_write(0);
    BOOST_TEST(balance(alice) == 10'000);
    BOOST_TEST(balance(bob) == 0);
    BOOST_TEST(journal_entries() == entries);
  }
  books_balance();
}

BOOST_AUTO_TEST_CASE(a_full_store_refuses_grants_and_users_then_recovers) {
  auto alice = add_user("alice");
  kv->set_full(true);
  auto refused = grant(alice, 5'000, "full");
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code() == errc::resource_exhausted));
  auto pending = self()->request(ledger, caf::infinite, user_add_atom::value, std::string("carol"));
  run();
  bool user_refused = false;
  pending.receive([&](pb<v1::UserRecord>&, std::string&) {},
                  [&](caf::error& e) { user_refused = to_status(e).code() == errc::resource_exhausted; });
  BOOST_TEST(user_refused);
  kv->set_full(false);
  BOOST_TEST(balance(alice) == 0);
  BOOST_REQUIRE(grant(alice, 5'000, "full"));  // the cause was never used: the grant goes through now
  BOOST_TEST(balance(alice) == 5'000);
  BOOST_TEST(add_user("carol").id != 0);
  books_balance();
}

BOOST_AUTO_TEST_CASE(a_repeated_grant_or_uptime_report_pays_once) {
  auto alice = add_user("alice");
  BOOST_REQUIRE(grant(alice, 5'000, "once"));
  auto again = grant(alice, 5'000, "once");
  BOOST_TEST(!again.has_value());
  tell(ledger, uptime_atom::value, alice.id, uint64_t{2}, int64_t{0}, int64_t{60'000});
  tell(ledger, uptime_atom::value, alice.id, uint64_t{2}, int64_t{0}, int64_t{60'000});
  BOOST_TEST(balance(alice) == 5'000 + 10'000);  // 2 workers x 60 s of 50 kudos per 10 minutes
  // A failed uptime write pays nothing and is only logged; the next report is paid.
  kv->fail_commit(1);
  tell(ledger, uptime_atom::value, alice.id, uint64_t{1}, int64_t{60'000}, int64_t{120'000});
  BOOST_TEST(balance(alice) == 15'000);
  tell(ledger, uptime_atom::value, alice.id, uint64_t{1}, int64_t{60'000}, int64_t{120'000});
  BOOST_TEST(balance(alice) == 20'000);
  books_balance();
}

BOOST_AUTO_TEST_CASE(refusals_need_no_write) {
  auto alice = add_user("alice");
  add_user("bob");
  kv->set_full(true);  // any write would fail with resource_exhausted
  BOOST_TEST((transfer(alice, "bob", 0, "").error().code() == errc::invalid_argument));
  BOOST_TEST((transfer(alice, "nobody", 10, "").error().code() == errc::not_found));
  BOOST_TEST((transfer(alice, "alice", 10, "").error().code() == errc::invalid_argument));
  BOOST_TEST((transfer({0, "not-a-key"}, "bob", 10, "").error().code() == errc::unauthenticated));
  BOOST_TEST((grant(alice, -5, "x").error().code() == errc::invalid_argument));
  BOOST_TEST(kv->failed_commits() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff
