#include "persistence/job_table.hpp"

#include <vector>

#include <boost/test/unit_test.hpp>

#include "persistence/memory_store.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

namespace {

v1::JobRecord make_job(uint64_t seq, double priority, v1::JobState state = v1::QUEUED) {
  v1::JobRecord job;
  job.set_id(uuid::random().to_bytes());
  job.set_sequence(seq);
  job.set_base_priority(priority);
  job.set_state(state);
  job.mutable_request()->set_prompt("a cat #" + std::to_string(seq));
  return job;
}

std::vector<uint64_t> sequences_in(kv_store& kv, v1::JobState state) {
  std::vector<uint64_t> out;
  auto r = kv.begin_read();
  BOOST_REQUIRE(job_table::scan_state(**r, state, [&](v1::JobRecord& j) {
                  out.push_back(j.sequence());
                  return true;
                }).is_ok());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(job_table_suite)

BOOST_AUTO_TEST_CASE(put_get_round_trip_keeps_unknown_fields) {
  auto kv = make_memory_store();
  auto job = make_job(1, 5);
  // A field from a future schema version: it must survive being stored and read back.
  job.GetReflection()->MutableUnknownFields(&job)->AddVarint(999, 42);
  {
    auto w = kv->begin_write();
    BOOST_TEST(job_table::put(**w, job).is_ok());
    BOOST_TEST((*w)->commit().is_ok());
  }
  auto r = kv->begin_read();
  auto back = job_table::get(**r, *uuid::from_bytes(job.id()));
  BOOST_REQUIRE(back.has_value() && back->has_value());
  BOOST_TEST((*back)->request().prompt() == "a cat #1");
  BOOST_TEST((*back)->GetReflection()->GetUnknownFields(**back).field_count() == 1);
  BOOST_TEST((*back)->SerializeAsString() == job.SerializeAsString());
}

BOOST_AUTO_TEST_CASE(index_orders_by_priority_then_submission_and_follows_state) {
  auto kv = make_memory_store();
  std::vector<v1::JobRecord> jobs = {make_job(1, 10), make_job(2, 50), make_job(3, 10), make_job(4, -3)};
  {
    auto w = kv->begin_write();
    for (auto& j : jobs)
      BOOST_TEST(job_table::put(**w, j).is_ok());
    BOOST_TEST((*w)->commit().is_ok());
  }
  BOOST_TEST((sequences_in(*kv, v1::QUEUED) == std::vector<uint64_t>{2, 1, 3, 4}));
  {
    auto w = kv->begin_write();
    jobs[0].set_state(v1::DONE);
    jobs[0].set_finished_ms(1000);
    BOOST_TEST(job_table::put(**w, jobs[0]).is_ok());
    BOOST_TEST(job_table::erase(**w, *uuid::from_bytes(jobs[3].id())).is_ok());
    BOOST_TEST((*w)->commit().is_ok());
  }
  BOOST_TEST((sequences_in(*kv, v1::QUEUED) == std::vector<uint64_t>{2, 3}));
  BOOST_TEST((sequences_in(*kv, v1::DONE) == std::vector<uint64_t>{1}));
  std::vector<uint64_t> old;
  auto r = kv->begin_read();
  BOOST_TEST(job_table::scan_finished_before(**r, 1001, [&](v1::JobRecord& j) {
               old.push_back(j.sequence());
               return true;
             }).is_ok());
  BOOST_TEST((old == std::vector<uint64_t>{1}));
  old.clear();
  BOOST_TEST(job_table::scan_finished_before(**r, 1000, [&](v1::JobRecord& j) {
               old.push_back(j.sequence());
               return true;
             }).is_ok());
  BOOST_TEST(old.empty());
}

BOOST_AUTO_TEST_CASE(an_idempotency_key_whose_job_is_gone_is_free_again) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  auto job = make_job(1, 5);
  auto id = *uuid::from_bytes(job.id());
  BOOST_REQUIRE(job_table::put(**w, job).is_ok());
  BOOST_REQUIRE(job_table::put_client_key(**w, 7, "key", id).is_ok());
  auto found = job_table::find_by_client_key(**w, 7, "key");
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST((found->has_value() && **found == id));
  BOOST_TEST(!job_table::find_by_client_key(**w, 8, "key")->has_value());  // keys are per user
  BOOST_REQUIRE(job_table::erase(**w, id).is_ok());
  auto after = job_table::find_by_client_key(**w, 7, "key");
  BOOST_REQUIRE(after.has_value());
  BOOST_TEST(!after->has_value());
}

BOOST_AUTO_TEST_CASE(rejects_a_bad_id) {
  auto kv = make_memory_store();
  auto w = kv->begin_write();
  v1::JobRecord job;
  job.set_id("short");
  BOOST_TEST(job_table::put(**w, job).code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
