#include <boost/test/unit_test.hpp>

#include "core_fixture.hpp"

using namespace crowdiff;
using namespace crowdiff::testing;

namespace {

caf::error transfer(core_fixture& f, const std::string& key, const std::string& to, int64_t mk,
                    const std::string& idem, v1::LedgerEntry* out = nullptr) {
  caf::error err;
  (*f.self)
      ->request(f.core.ledger, patience, transfer_atom::value, key, to, mk, idem)
      .receive(
          [&](pb<v1::LedgerEntry>& e) {
            if (out)
              *out = e.value;
          },
          [&](caf::error& e) { err = e; });
  return err;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(transfer_suite, core_fixture)

BOOST_AUTO_TEST_CASE(transfers_move_kudos_once_per_idempotency_key) {
  auto alice = add_user("alice", 50);
  auto bob = add_user("bob");
  v1::LedgerEntry first;
  v1::LedgerEntry replay;
  BOOST_TEST(!transfer(*this, alice.key, "bob", 20'000, "k1", &first));
  BOOST_TEST(!transfer(*this, alice.key, "bob", 20'000, "k1", &replay));
  BOOST_TEST(first.sequence() == replay.sequence());
  BOOST_TEST(balance_mk(alice.key) == 30'000);
  BOOST_TEST(balance_mk(bob.key) == 20'000);
  BOOST_TEST(to_status(transfer(*this, alice.key, "bob", 1, "k1")).code() == errc::already_exists);
}

BOOST_AUTO_TEST_CASE(refused_transfers_change_nothing) {
  auto alice = add_user("alice", 10);
  auto bob = add_user("bob");
  auto before = audit();
  BOOST_TEST(to_status(transfer(*this, alice.key, "bob", 10'001, "")).code() == errc::insufficient_kudos);
  BOOST_TEST(to_status(transfer(*this, alice.key, "alice", 1, "")).code() == errc::invalid_argument);
  BOOST_TEST(to_status(transfer(*this, alice.key, "Anonymous", 1, "")).code() == errc::permission_denied);
  BOOST_TEST(to_status(transfer(*this, alice.key, "nobody", 1, "")).code() == errc::not_found);
  BOOST_TEST(to_status(transfer(*this, alice.key, "bob", 0, "")).code() == errc::invalid_argument);
  BOOST_TEST(to_status(transfer(*this, alice.key, "bob", -5, "")).code() == errc::invalid_argument);
  BOOST_TEST(to_status(transfer(*this, "wrong-key", "bob", 5, "")).code() == errc::unauthenticated);
  BOOST_TEST(audit().entries() == before.entries());
  BOOST_TEST(balance_mk(alice.key) == 10'000);
}

BOOST_AUTO_TEST_CASE(user_names_are_unique) {
  add_user("carol");
  caf::error err;
  (*self)
      ->request(core.ledger, patience, user_add_atom::value, std::string("CAROL"))
      .receive([](pb<v1::UserRecord>&, std::string&) {}, [&](caf::error& e) { err = e; });
  BOOST_TEST(to_status(err).code() == errc::already_exists);
}

BOOST_AUTO_TEST_SUITE_END()
