#include "persistence/worker_table.hpp"

#include <boost/test/unit_test.hpp>

#include "persistence/memory_store.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

BOOST_AUTO_TEST_SUITE(worker_table_suite)

BOOST_AUTO_TEST_CASE(same_owner_and_name_is_the_same_worker) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  v1::WorkerRegistration reg;
  reg.set_name("gpu0");
  reg.set_owner_user_id(7);
  auto first = worker_table::upsert(**w, reg, 100);
  BOOST_REQUIRE(first.has_value());
  auto stats = *first;
  stats.set_images_done(5);
  BOOST_TEST(worker_table::put(**w, stats).is_ok());
  reg.set_max_pixels(1 << 20);
  auto again = worker_table::upsert(**w, reg, 200);
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again->id() == first->id());
  BOOST_TEST(again->images_done() == 5u);  // lifetime stats kept
  BOOST_TEST(again->first_seen_ms() == 100);
  BOOST_TEST(again->last_seen_ms() == 200);
  BOOST_TEST(again->registration().max_pixels() == (1u << 20));
  reg.set_owner_user_id(8);
  auto other = worker_table::upsert(**w, reg, 300);
  BOOST_TEST(other->id() != first->id());  // another owner's gpu0 is another worker
}

BOOST_AUTO_TEST_CASE(rejects_empty_name) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  v1::WorkerRegistration reg;
  BOOST_TEST(worker_table::upsert(**w, reg, 0).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
