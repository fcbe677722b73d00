#include "persistence/quarantine_table.hpp"

#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "common/log.hpp"
#include "persistence/job_table.hpp"
#include "persistence/lmdb_store.hpp"
#include "persistence/memory_store.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/user_table.hpp"
#include "persistence/webhook_table.hpp"
#include "persistence/worker_table.hpp"
#include "temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::persistence;

namespace {

v1::JobRecord make_job(uint64_t seq) {
  v1::JobRecord job;
  job.set_id(uuid::random().to_bytes());
  job.set_sequence(seq);
  job.set_base_priority(1);
  job.set_state(v1::QUEUED);
  job.mutable_request()->set_prompt("job " + std::to_string(seq) + " QUARANTINE-ME");
  return job;
}

// The stored bytes of `job` with one byte of its prompt made invalid UTF-8: a proto3 string field that no
// longer parses, as in the field report.
std::string invalid_utf8_record(const v1::JobRecord& job) {
  auto bytes = encode_record(job);
  auto at = bytes.find("QUARANTINE-ME");
  BOOST_REQUIRE(at != std::string::npos);
  bytes[at] = static_cast<char>(0xff);
  return bytes;
}

void put_raw(kv_store& kv, table t, std::string_view key, std::string_view value) {
  auto w = kv.begin_write();
  BOOST_REQUIRE((*w)->put(t, key, value).is_ok());
  BOOST_REQUIRE((*w)->commit().is_ok());
}

std::vector<uint64_t> queued_sequences(read_txn& txn, const bad_record_fn& on_bad) {
  std::vector<uint64_t> out;
  BOOST_REQUIRE(job_table::scan_state(
                    txn, v1::QUEUED,
                    [&](v1::JobRecord& j) {
                      out.push_back(j.sequence());
                      return true;
                    },
                    on_bad)
                    .is_ok());
  return out;
}

std::vector<v1::QuarantineRecord> quarantined(kv_store& kv) {
  std::vector<v1::QuarantineRecord> out;
  auto r = kv.begin_read();
  BOOST_REQUIRE(quarantine_table::scan(**r, [&](v1::QuarantineRecord& q) {
                  out.push_back(q);
                  return true;
                }).is_ok());
  return out;
}

// Five queued jobs; the third holds bytes that do not decode, and is owed a webhook.
struct five_jobs {
  explicit five_jobs(kv_store& kv) {
    auto w = kv.begin_write();
    for (uint64_t seq = 1; seq <= 5; ++seq) {
      jobs.push_back(make_job(seq));
      BOOST_REQUIRE(job_table::put(**w, jobs.back()).is_ok());
    }
    BOOST_REQUIRE(webhook_table::owe(**w, bad_id()).is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
    bad_bytes = invalid_utf8_record(jobs[2]);
    put_raw(kv, table::jobs, jobs[2].id(), bad_bytes);
  }
  uuid bad_id() const { return *uuid::from_bytes(jobs[2].id()); }

  std::vector<v1::JobRecord> jobs;
  std::string bad_bytes;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(quarantine_table_suite)

BOOST_AUTO_TEST_CASE(an_undecodable_job_is_reported_with_its_index_entry_and_the_scan_goes_on) {
  auto kv = make_memory_store();
  five_jobs fixture{*kv};
  auto r = kv->begin_read();
  // Strict, as before: the scan stops with the error.
  auto strict = job_table::scan_state(**r, v1::QUEUED, [](v1::JobRecord&) { return true; });
  BOOST_TEST(strict.code() == errc::corruption);

  std::vector<bad_record> bad;
  BOOST_TEST(queued_sequences(**r, collect_into(bad)) == (std::vector<uint64_t>{1, 2, 4, 5}),
             boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(bad.size(), 1u);
  BOOST_TEST((bad[0].source == table::jobs));
  BOOST_TEST(bad[0].key == fixture.jobs[2].id());
  BOOST_TEST(bad[0].bytes == fixture.bad_bytes);
  BOOST_TEST(bad[0].error.find("undecodable record in table jobs") != std::string::npos);
  BOOST_REQUIRE_EQUAL(bad[0].index_entries.size(), 1u);
  BOOST_TEST((bad[0].index_entries[0].first == table::jobs_by_state));
}

BOOST_AUTO_TEST_CASE(moving_aside_keeps_the_bytes_and_leaves_a_store_that_scans_cleanly) {
  auto kv = make_memory_store();
  five_jobs fixture{*kv};
  std::vector<bad_record> bad;
  {
    auto r = kv->begin_read();
    (void)queued_sequences(**r, collect_into(bad));
  }
  {
    auto w = kv->begin_write();
    auto ids = quarantine_table::move_aside(**w, bad, 1234);
    BOOST_REQUIRE(ids.has_value());
    BOOST_REQUIRE_EQUAL(ids->size(), 1u);
    BOOST_TEST((*ids)[0].value_or(0) == 1u);
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  auto r = kv->begin_read();
  // Gone from the source table and its index, and from webhooks_owed: the strict scan passes again.
  BOOST_TEST(!(*(*r)->get(table::jobs, fixture.jobs[2].id())).has_value());
  BOOST_TEST(queued_sequences(**r, {}) == (std::vector<uint64_t>{1, 2, 4, 5}),
             boost::test_tools::per_element());
  BOOST_TEST(!*webhook_table::owed(**r, fixture.bad_id()));

  auto entries = quarantined(*kv);
  BOOST_REQUIRE_EQUAL(entries.size(), 1u);
  BOOST_TEST(entries[0].id() == 1u);
  BOOST_TEST(entries[0].source_table() == static_cast<uint32_t>(table::jobs));
  BOOST_TEST(entries[0].key() == fixture.jobs[2].id());
  BOOST_TEST(entries[0].value() == fixture.bad_bytes);
  BOOST_TEST(entries[0].quarantined_ms() == 1234);
  BOOST_TEST(entries[0].error() == bad[0].error);
  auto one = quarantine_table::get(**r, 1);
  BOOST_REQUIRE(one.has_value() && one->has_value());
  BOOST_TEST((*one)->key() == fixture.jobs[2].id());
}

BOOST_AUTO_TEST_CASE(moving_aside_twice_or_after_a_rewrite_changes_nothing) {
  auto kv = make_memory_store();
  five_jobs fixture{*kv};
  std::vector<bad_record> bad;
  {
    auto r = kv->begin_read();
    (void)queued_sequences(**r, collect_into(bad));
  }
  {
    auto w = kv->begin_write();
    BOOST_REQUIRE(quarantine_table::move_aside(**w, bad[0], 1).has_value());
    auto again = quarantine_table::move_aside(**w, bad[0], 2);
    BOOST_REQUIRE(again.has_value());
    BOOST_TEST(!again->has_value());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  BOOST_TEST(quarantined(*kv).size() == 1u);

  // A record rewritten since the scan saw it is left where it is.
  auto other = bad[0];
  other.key = fixture.jobs[0].id();
  other.bytes = "stale";
  auto w = kv->begin_write();
  auto moved = quarantine_table::move_aside(**w, other, 3);
  BOOST_REQUIRE(moved.has_value());
  BOOST_TEST(!moved->has_value());
  BOOST_TEST((*(*w)->get(table::jobs, fixture.jobs[0].id())).has_value());
  bad_record self{table::quarantine, "k", "v", "e", {}};
  BOOST_TEST(quarantine_table::move_aside(**w, self, 4).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_CASE(an_index_entry_with_no_job_behind_it_does_not_fail_scans) {
  auto kv = make_memory_store();
  auto job = make_job(1);
  auto kept = make_job(2);
  {
    auto w = kv->begin_write();
    BOOST_REQUIRE(job_table::put(**w, job).is_ok());
    BOOST_REQUIRE(job_table::put(**w, kept).is_ok());
    BOOST_REQUIRE((*w)->erase(table::jobs, job.id()).is_ok());  // the index entry is left pointing at nothing
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  std::vector<bad_record> bad;
  {
    auto r = kv->begin_read();
    BOOST_TEST(job_table::scan_state(**r, v1::QUEUED, [](v1::JobRecord&) { return true; }).code() ==
               errc::corruption);
    BOOST_TEST(queued_sequences(**r, collect_into(bad)) == (std::vector<uint64_t>{2}),
               boost::test_tools::per_element());
  }
  BOOST_REQUIRE_EQUAL(bad.size(), 1u);
  BOOST_TEST((bad[0].source == table::jobs_by_state));
  {
    auto w = kv->begin_write();
    BOOST_REQUIRE(quarantine_table::move_aside(**w, bad, 5).has_value());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  auto r = kv->begin_read();
  BOOST_TEST(queued_sequences(**r, {}) == (std::vector<uint64_t>{2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(finished_jobs_scan_reports_undecodable_jobs_too) {
  auto kv = make_memory_store();
  std::vector<v1::JobRecord> jobs;
  {
    auto w = kv->begin_write();
    for (uint64_t seq = 1; seq <= 3; ++seq) {
      jobs.push_back(make_job(seq));
      jobs.back().set_state(v1::DONE);
      jobs.back().set_finished_ms(static_cast<int64_t>(seq) * 10);
      BOOST_REQUIRE(job_table::put(**w, jobs.back()).is_ok());
    }
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  put_raw(*kv, table::jobs, jobs[1].id(), invalid_utf8_record(jobs[1]));
  auto r = kv->begin_read();
  std::vector<bad_record> bad;
  std::vector<uint64_t> seen;
  BOOST_TEST(job_table::scan_finished_before(
                 **r, 100,
                 [&](v1::JobRecord& j) {
                   seen.push_back(j.sequence());
                   return true;
                 },
                 collect_into(bad))
                 .is_ok());
  BOOST_TEST(seen == (std::vector<uint64_t>{1, 3}), boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(bad.size(), 1u);
  BOOST_TEST(bad[0].key == jobs[1].id());
}

BOOST_AUTO_TEST_CASE(a_bad_worker_or_user_record_does_not_fail_their_scans) {
  auto kv = make_memory_store();
  std::vector<uint64_t> workers;
  {
    auto w = kv->begin_write();
    for (const char* name : {"gpu0", "gpu1", "gpu2"}) {
      v1::WorkerRegistration reg;
      reg.set_name(name);
      reg.set_owner_user_id(7);
      workers.push_back(worker_table::upsert(**w, reg, 100)->id());
    }
    for (const char* name : {"ann", "ben", "cat"})
      BOOST_REQUIRE(user_table::create(**w, name, std::string(32, name[0]), 0).has_value());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  std::string garbage("\x01\xff\xff\xff\xff", 5);
  std::string worker_key(8, '\0');
  worker_key[7] = static_cast<char>(workers[1]);
  put_raw(*kv, table::workers, worker_key, garbage);
  put_raw(*kv, table::users, std::string("\0\0\0\0\0\0\0\2", 8), garbage);  // user 2, "ben"

  std::vector<std::string> lines;
  log::set_sink([&](log::level, const std::string& line) { lines.push_back(line); });
  auto r = kv->begin_read();
  std::vector<std::string> names;
  auto ws = worker_table::scan(
      **r,
      [&](v1::WorkerRecord& w) {
        names.push_back(w.registration().name());
        return true;
      },
      log_and_skip("test_workers"));
  auto us = user_table::scan(
      **r,
      [&](v1::UserRecord& u) {
        names.push_back(u.name());
        return true;
      },
      log_and_skip("test_users"));
  log::reset_sink();
  BOOST_TEST(ws.is_ok());
  BOOST_TEST(us.is_ok());
  BOOST_TEST(names == (std::vector<std::string>{"gpu0", "gpu2", "ann", "cat"}),
             boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(lines[0].find("event=record_skipped") != std::string::npos);
  BOOST_TEST(lines[0].find("table=workers") != std::string::npos);
  BOOST_TEST(lines[0].find("key=" + to_hex(worker_key)) != std::string::npos);
  BOOST_TEST(lines[1].find("table=users") != std::string::npos);

  // Strict scans still stop with the error.
  BOOST_TEST(worker_table::scan(**r, [](v1::WorkerRecord&) { return true; }).code() == errc::corruption);
  BOOST_TEST(user_table::scan(**r, [](v1::UserRecord&) { return true; }).code() == errc::corruption);
}

BOOST_AUTO_TEST_CASE(a_webhooks_owed_key_that_is_not_a_job_id_is_reported) {
  auto kv = make_memory_store();
  auto job = uuid::random();
  {
    auto w = kv->begin_write();
    BOOST_REQUIRE((*w)->put(table::webhooks_owed, "short", {}).is_ok());
    BOOST_REQUIRE(webhook_table::owe(**w, job).is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  auto r = kv->begin_read();
  std::vector<bad_record> bad;
  std::vector<uuid> owed;
  BOOST_TEST(webhook_table::scan(
                 **r,
                 [&](const uuid& id) {
                   owed.push_back(id);
                   return true;
                 },
                 collect_into(bad))
                 .is_ok());
  BOOST_TEST(owed.size() == 1u);
  BOOST_REQUIRE_EQUAL(bad.size(), 1u);
  BOOST_TEST(bad[0].key == "short");
}

BOOST_AUTO_TEST_CASE(entries_are_dropped_one_by_one_or_all_at_once_and_outlive_a_reopen) {
  crowdiff::testing::temp_dir dir;
  {
    auto kv = open_lmdb_store({dir.path(), false, 1 << 20});
    BOOST_REQUIRE_MESSAGE(kv.has_value(), kv.to_status().to_string());
    auto w = (*kv)->begin_write();
    for (int i = 0; i < 3; ++i) {
      v1::QuarantineRecord q;
      q.set_source_table(static_cast<uint32_t>(table::users));
      q.set_key("k" + std::to_string(i));
      BOOST_TEST(*quarantine_table::put(**w, q) == static_cast<uint64_t>(i + 1));
    }
    BOOST_REQUIRE((*w)->put(table::quarantine, std::string(7, 'x'), "not a record").is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  auto kv = open_lmdb_store({dir.path(), false, 1 << 20});
  BOOST_REQUIRE(kv.has_value());
  {
    auto w = (**kv).begin_write();
    BOOST_TEST(*quarantine_table::erase(**w, 2));
    BOOST_TEST(!*quarantine_table::erase(**w, 2));
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  std::vector<uint64_t> ids;
  std::vector<bad_record> bad;
  {
    auto r = (**kv).begin_read();
    BOOST_TEST(quarantine_table::scan(
                   **r,
                   [&](v1::QuarantineRecord& q) {
                     ids.push_back(q.id());
                     return true;
                   },
                   collect_into(bad))
                   .is_ok());
  }
  BOOST_TEST(ids == (std::vector<uint64_t>{1, 3}), boost::test_tools::per_element());
  BOOST_TEST(bad.size() == 1u);  // an unreadable entry is listed apart, and still dropped by erase_all
  auto w = (**kv).begin_write();
  BOOST_TEST(*quarantine_table::erase_all(**w) == 3u);
  BOOST_REQUIRE((*w)->commit().is_ok());
  BOOST_TEST(quarantined(**kv).empty());
}

BOOST_AUTO_TEST_CASE(hex_is_lower_case_two_digits_a_byte) {
  BOOST_TEST(to_hex(std::string("\x00\x0f\xa0\xff", 4)) == "000fa0ff");
  BOOST_TEST(to_hex("") == "");
}

BOOST_AUTO_TEST_SUITE_END()
