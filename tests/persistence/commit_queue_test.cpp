#include "persistence/commit_queue.hpp"

#include <atomic>
#include <future>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "persistence/lmdb_store.hpp"
#include "persistence/memory_store.hpp"
#include "temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

namespace {

bool present(kv_store& kv, std::string_view key) {
  auto r = kv.begin_read();
  auto v = (*r)->get(table::meta, key);
  return v.has_value() && v->has_value();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(commit_queue_suite)

BOOST_AUTO_TEST_CASE(a_failing_operation_leaves_the_rest_of_its_batch_alone) {
  auto kv = make_memory_store();
  commit_queue q{*kv, commit_queue::mode::threaded};
  std::vector<std::promise<status>> outcomes(3);
  q.submit([](write_txn& t) { return t.put(table::meta, "one", "1"); },
           [&](const status& s) { outcomes[0].set_value(s); });
  q.submit(
      [](write_txn& t) -> status {
        CROWDIFF_RETURN_IF_ERROR(t.put(table::meta, "half", "written"));
        return status{errc::invalid_argument, "second thoughts"};
      },
      [&](const status& s) { outcomes[1].set_value(s); });
  q.submit([](write_txn& t) { return t.put(table::meta, "three", "3"); },
           [&](const status& s) { outcomes[2].set_value(s); });
  BOOST_TEST(outcomes[0].get_future().get().is_ok());
  BOOST_TEST(outcomes[1].get_future().get().code() == errc::invalid_argument);
  BOOST_TEST(outcomes[2].get_future().get().is_ok());
  BOOST_TEST(present(*kv, "one"));
  BOOST_TEST(!present(*kv, "half"));
  BOOST_TEST(present(*kv, "three"));
}

BOOST_AUTO_TEST_CASE(concurrent_writers_are_grouped_into_few_transactions) {
  crowdiff::testing::temp_dir dir;
  auto kv = open_lmdb_store({dir.path(), false, 8 << 20});
  BOOST_REQUIRE(kv.has_value());
  commit_queue q{**kv, commit_queue::mode::threaded};
  constexpr int n = 2000;
  std::atomic<int> ok{0};
  std::promise<void> all_done;
  for (int i = 0; i < n; ++i) {
    q.submit([i](write_txn& t) { return t.put(table::meta, "k" + std::to_string(i), "v"); },
             [&](const status& s) {
               if (s && ++ok == n)
                 all_done.set_value();
             });
  }
  all_done.get_future().get();
  BOOST_TEST(ok.load() == n);
  BOOST_TEST(q.batches() < static_cast<uint64_t>(n));  // grouped: fewer fsyncs than writes
  BOOST_TEST(present(**kv, "k1999"));
}

BOOST_AUTO_TEST_CASE(inline_mode_commits_before_submit_returns) {
  auto kv = make_memory_store();
  commit_queue q{*kv, commit_queue::mode::inline_commit};
  bool called = false;
  q.submit([](write_txn& t) { return t.put(table::meta, "now", "1"); },
           [&](const status& s) {
             BOOST_TEST(s.is_ok());
             called = true;
           });
  BOOST_TEST(called);
  BOOST_TEST(present(*kv, "now"));
  BOOST_TEST(q.run([](write_txn& t) { return t.put(table::meta, "run", "1"); }).is_ok());
}

BOOST_AUTO_TEST_CASE(a_full_map_grows_and_the_batch_is_retried) {
  crowdiff::testing::temp_dir dir;
  auto kv = open_lmdb_store({dir.path(), false, 256 << 10});
  BOOST_REQUIRE(kv.has_value());
  commit_queue q{**kv, commit_queue::mode::threaded};
  std::string big(200 << 10, 'y');
  for (int i = 0; i < 10; ++i) {
    auto s = q.run([&, i](write_txn& t) { return t.put(table::results, "big" + std::to_string(i), big); });
    BOOST_TEST(s.is_ok(), s.to_string());
  }
}

BOOST_AUTO_TEST_SUITE_END()
