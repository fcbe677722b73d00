#include "persistence/ledger_book.hpp"

#include <map>
#include <random>

#include <boost/test/unit_test.hpp>

#include "persistence/lmdb_store.hpp"
#include "persistence/memory_store.hpp"
#include "persistence/store.hpp"
#include "temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

namespace {

int64_t balance_of(read_txn& txn, uint64_t account) {
  auto b = ledger_book::balance(txn, account);
  BOOST_REQUIRE(b.has_value());
  return b->balance_mk();
}

void check_books(store& s) {
  auto r = s.read();
  auto audit = ledger_book::audit(**r);
  BOOST_REQUIRE(audit.has_value());
  BOOST_TEST(audit->sum_of_balances_mk() == audit->minted_mk() - audit->burned_mk());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ledger_book_suite)

BOOST_AUTO_TEST_CASE(post_validates_before_writing) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  BOOST_TEST(ledger_book::post(**w, {1, 1, 5, v1::GRANT, "c1", {}, 0}, 0).error().code() ==
             errc::invalid_argument);
  BOOST_TEST(ledger_book::post(**w, {1, 2, -5, v1::GRANT, "c2", {}, 0}, 0).error().code() ==
             errc::invalid_argument);
  BOOST_TEST(ledger_book::post(**w, {1, 2, 5, v1::GRANT, "", {}, 0}, 0).error().code() ==
             errc::invalid_argument);
  BOOST_REQUIRE(ledger_book::post(**w, {mint_account, 2, 5000, v1::GRANT, "grant-1", {}, 0}, 0).has_value());
  BOOST_TEST(ledger_book::post(**w, {mint_account, 2, 5000, v1::GRANT, "grant-1", {}, 0}, 0).error().code() ==
             errc::already_exists);
  BOOST_TEST(balance_of(**w, 2) == 5000);
  BOOST_TEST(balance_of(**w, mint_account) == -5000);
}

BOOST_AUTO_TEST_CASE(transfer_respects_the_floor) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  BOOST_REQUIRE(ledger_book::post(**w, {mint_account, 2, 10'000, v1::GRANT, "g", {}, 0}, 0).has_value());
  auto too_much = ledger_book::transfer(**w, 2, 3, 10'001, 0, "t1", {}, 0);
  BOOST_TEST(too_much.error().code() == errc::insufficient_kudos);
  BOOST_TEST(ledger_book::transfer(**w, 2, 3, 10'000, 0, "t2", {}, 0).has_value());
  BOOST_TEST(balance_of(**w, 2) == 0);
  BOOST_TEST(balance_of(**w, 3) == 10'000);
  BOOST_TEST(ledger_book::transfer(**w, 3, 3, 1, 0, "t3", {}, 0).error().code() == errc::invalid_argument);
  BOOST_TEST(ledger_book::transfer(**w, 3, 2, 0, 0, "t4", {}, 0).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(settling_twice_changes_nothing_and_the_floor_forgives) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  BOOST_REQUIRE(ledger_book::post(**w, {mint_account, 2, 3'000, v1::GRANT, "g", {}, 0}, 0).has_value());
  auto first = ledger_book::settle_image(**w, 2, 5'000, 0, 9, 4'000, false, "img:j:0", 0);
  BOOST_REQUIRE(first.has_value());
  BOOST_TEST(!first->already_settled);
  BOOST_TEST(first->charged_mk == 3'000);
  BOOST_TEST(first->forgiven_mk == 2'000);
  BOOST_TEST(first->credited_mk == 4'000);
  auto again = ledger_book::settle_image(**w, 2, 5'000, 0, 9, 4'000, false, "img:j:0", 0);
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again->already_settled);
  BOOST_TEST(balance_of(**w, 2) == 0);
  BOOST_TEST(balance_of(**w, 9) == 4'000);
  BOOST_TEST(balance_of(**w, burn_account) == 3'000);
  auto audit = ledger_book::audit(**w);
  BOOST_TEST(audit->minted_mk() == 7'000);
  BOOST_TEST(audit->burned_mk() == 3'000);
  BOOST_TEST(audit->sum_of_balances_mk() == 4'000);
}

// What was tried as a hostile user would (issue 11): serving one's own jobs minted kudos, and a requester
// who could not pay pinned the job to the attacker's worker, whose owner was paid in full.
BOOST_AUTO_TEST_CASE(no_kudos_for_serving_oneself_or_for_a_pinned_job_nobody_paid_for) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  // A user with nothing serves their own job: nothing moves.
  auto own = ledger_book::settle_image(**w, 5, 5'000, 0, 5, 4'000, false, "img:own:0", 0);
  BOOST_REQUIRE(own.has_value());
  BOOST_TEST(own->charged_mk == 0);
  BOOST_TEST(own->forgiven_mk == 0);
  BOOST_TEST(own->credited_mk == 0);
  BOOST_TEST(balance_of(**w, 5) == 0);
  // A broke requester pins worker 9: the price is forgiven and worker 9's owner earns nothing.
  auto pinned = ledger_book::settle_image(**w, 2, 5'000, 0, 9, 4'000, true, "img:pin:0", 0);
  BOOST_REQUIRE(pinned.has_value());
  BOOST_TEST(pinned->forgiven_mk == 5'000);
  BOOST_TEST(pinned->credited_mk == 0);
  BOOST_TEST(balance_of(**w, 9) == 0);
  // Pinned and partly paid: the owner earns what was paid, no more.
  BOOST_REQUIRE(ledger_book::post(**w, {mint_account, 2, 1'500, v1::GRANT, "g", {}, 0}, 0).has_value());
  auto part = ledger_book::settle_image(**w, 2, 5'000, 0, 9, 4'000, true, "img:pin:1", 0);
  BOOST_TEST(part->charged_mk == 1'500);
  BOOST_TEST(part->credited_mk == 1'500);
  BOOST_TEST(balance_of(**w, 9) == 1'500);
  // Not pinned, the AI Horde's forgiveness stands: the worker is paid its image's value.
  auto free = ledger_book::settle_image(**w, 2, 5'000, 0, 9, 4'000, false, "img:free:0", 0);
  BOOST_TEST(free->credited_mk == 4'000);
  auto audit = ledger_book::audit(**w);
  BOOST_TEST(audit->minted_mk() - audit->burned_mk() == audit->sum_of_balances_mk());
}

// Thousands of random movements, duplicates and restarts: the books always balance, and every balance
// matches a model that applies each accepted movement exactly once.
void run_random_books(std::function<std::unique_ptr<store>()> reopen, int operations, unsigned seed) {
  std::mt19937_64 rng{seed};
  auto s = reopen();
  std::map<uint64_t, int64_t> model;
  std::map<std::string, bool> settled;
  auto pick_user = [&] { return static_cast<uint64_t>(2 + rng() % 6); };
  auto amount = [&] { return static_cast<int64_t>(rng() % 20'000); };
  int xfer = 0;
  for (int i = 0; i < operations; ++i) {
    switch (rng() % 10) {
      case 0:
      case 1: {  // grant
        uint64_t to = pick_user();
        int64_t a = amount() + 1;
        auto st = s->write_sync([&](write_txn& t) {
          return ledger_book::post(t, {mint_account, to, a, v1::GRANT, "grant:" + std::to_string(i), {}, 0},
                                   i)
              .to_status();
        });
        BOOST_REQUIRE(st.is_ok());
        model[to] += a;
        break;
      }
      case 2:
      case 3:
      case 4: {  // transfer, possibly refused
        uint64_t from = pick_user();
        uint64_t to = pick_user();
        int64_t a = amount();
        auto st = s->write_sync([&](write_txn& t) {
          return ledger_book::transfer(t, from, to, a, 0, "xfer:" + std::to_string(++xfer), {}, i)
              .to_status();
        });
        bool expect_ok = a > 0 && from != to && model[from] - a >= 0;
        BOOST_REQUIRE_EQUAL(st.is_ok(), expect_ok);
        if (expect_ok) {
          model[from] -= a;
          model[to] += a;
        }
        break;
      }
      default: {  // settle an image, sometimes one settled before (a duplicate result)
        std::string cause = "img:" + std::to_string(rng() % (operations / 3 + 1));
        uint64_t requester = pick_user();
        uint64_t owner = pick_user();
        int64_t price = amount();
        int64_t value = price > 1000 ? price - 1000 : 0;
        bool chose = rng() % 4 == 0;
        settlement out;
        auto st = s->write_sync([&](write_txn& t) {
          auto r = ledger_book::settle_image(t, requester, price, 0, owner, value, chose, cause, i);
          if (r)
            out = *r;
          return r.to_status();
        });
        BOOST_REQUIRE(st.is_ok());
        BOOST_REQUIRE_EQUAL(out.already_settled, settled[cause]);
        if (!settled[cause]) {
          bool own = requester == owner;
          int64_t charge = own ? 0 : std::max<int64_t>(0, std::min(price, model[requester]));
          int64_t credit = own ? 0 : (chose ? std::min(value, charge) : value);
          BOOST_REQUIRE_EQUAL(out.charged_mk, charge);
          BOOST_REQUIRE_EQUAL(out.credited_mk, credit);
          model[requester] -= charge;
          model[owner] += credit;
          // A settlement that moved nothing (one's own job) records nothing: the job record says it is done.
          settled[cause] = !own && (price > 0 || credit > 0);
        }
        break;
      }
    }
    if (rng() % 97 == 0) {
      s.reset();  // restart: everything acknowledged must still be there
      s = reopen();
    }
    if (i % 50 == 0)
      check_books(*s);
  }
  check_books(*s);
  auto r = s->read();
  for (auto [account, expected] : model)
    BOOST_TEST(balance_of(**r, account) == expected);
}

BOOST_AUTO_TEST_CASE(random_books_balance_in_memory) {
  std::shared_ptr<kv_store> kv = make_memory_store();
  run_random_books([&] { return std::move(*store::open(kv, commit_queue::mode::threaded)); }, 4000, 7);
}

BOOST_AUTO_TEST_CASE(random_books_balance_on_lmdb_across_reopen) {
  crowdiff::testing::temp_dir dir;
  run_random_books(
      [&] {
        auto s = store::open(store_options{dir.path(), false, 1 << 20, 64, commit_queue::mode::threaded});
        BOOST_REQUIRE_MESSAGE(s.has_value(), s.to_status().to_string());
        return std::move(*s);
      },
      600, 11);
}

BOOST_AUTO_TEST_SUITE_END()
