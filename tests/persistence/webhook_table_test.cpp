#include "persistence/webhook_table.hpp"

#include <set>

#include <boost/test/unit_test.hpp>

#include "persistence/job_table.hpp"
#include "persistence/memory_store.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

namespace {

std::set<uuid> owed_jobs(kv_store& kv) {
  std::set<uuid> out;
  auto r = kv.begin_read();
  BOOST_REQUIRE(r.has_value());
  BOOST_REQUIRE(webhook_table::scan(**r, [&](const uuid& id) {
                  out.insert(id);
                  return true;
                }).is_ok());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_table_suite)

BOOST_AUTO_TEST_CASE(owe_and_settle_are_idempotent_and_scanned) {
  auto kv = make_memory_store();
  auto a = uuid::random(), b = uuid::random();
  {
    auto w = kv->begin_write();
    BOOST_REQUIRE(webhook_table::owe(**w, a).is_ok());
    BOOST_REQUIRE(webhook_table::owe(**w, a).is_ok());
    BOOST_REQUIRE(webhook_table::owe(**w, b).is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  BOOST_TEST((owed_jobs(*kv) == std::set<uuid>{a, b}));
  {
    auto w = kv->begin_write();
    BOOST_REQUIRE(webhook_table::settle(**w, a).is_ok());
    BOOST_REQUIRE(webhook_table::settle(**w, a).is_ok());
    BOOST_REQUIRE(webhook_table::settle(**w, uuid::random()).is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  auto r = kv->begin_read();
  BOOST_TEST(*webhook_table::owed(**r, a) == false);
  BOOST_TEST(*webhook_table::owed(**r, b) == true);
  BOOST_TEST((owed_jobs(*kv) == std::set<uuid>{b}));
}

BOOST_AUTO_TEST_CASE(erasing_a_job_erases_what_its_webhook_was_owed) {
  auto kv = make_memory_store();
  v1::JobRecord job;
  auto id = uuid::random();
  job.set_id(id.to_bytes());
  job.set_state(v1::DONE);
  job.mutable_request()->set_webhook("https://hooks.example/x");
  {
    auto w = kv->begin_write();
    BOOST_REQUIRE(job_table::put(**w, job).is_ok());
    BOOST_REQUIRE(webhook_table::owe(**w, id).is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  {
    auto w = kv->begin_write();
    BOOST_REQUIRE(job_table::erase(**w, id).is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  BOOST_TEST(owed_jobs(*kv).empty());
}

BOOST_AUTO_TEST_CASE(a_key_that_is_not_a_job_id_is_corruption) {
  auto kv = make_memory_store();
  {
    auto w = kv->begin_write();
    BOOST_REQUIRE((*w)->put(table::webhooks_owed, "short", {}).is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  auto r = kv->begin_read();
  auto s = webhook_table::scan(**r, [](const uuid&) { return true; });
  BOOST_TEST(s.code() == errc::corruption);
}

BOOST_AUTO_TEST_SUITE_END()
