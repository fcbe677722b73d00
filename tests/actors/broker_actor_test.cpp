// The Broker actor on CAF's test coordinator with a fake Scheduler, over a store that fails when told to:
// accepted work is never lost, nothing is acknowledged before it is durable, and no failure charges anyone.

#include "actors/broker/broker_actor.hpp"

#include <boost/test/unit_test.hpp>

#include "actors/broker/broker_state.hpp"
#include "actors/ledger/accounting.hpp"
#include "common/api_key.hpp"
#include "config/node_config.hpp"
#include "deterministic_fixture.hpp"
#include "fake_scheduler.hpp"
#include "persistence/job_table.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/user_table.hpp"
#include "test_image.hpp"

namespace crowdiff {
namespace {

struct requester {
  uint64_t id = 0;
  std::string key;
};

class broker_fixture : public testing::deterministic_fixture {
 public:
  broker_fixture() {
    config = config::with_defaults({});
    config.add_models("stable_diffusion");
    start_broker();
    alice = add_user("alice", 100'000);
    owner = add_user("owner", 0);
  }

  void start_broker() {
    scheduler = spawn(testing::fake_scheduler, log);
    broker = spawn(broker_fn, broker_options{store.get(), caf::actor_cast<scheduler_actor>(scheduler), config,
                                             std::chrono::hours(24), clock});
  }

  requester add_user(const std::string& name, int64_t kudos_mk) {
    requester out;
    out.key = generate_api_key();
    auto s = store->write_sync([&](persistence::write_txn& txn) -> status {
      auto user = persistence::user_table::create(txn, name, hash_api_key(out.key), now_ms);
      if (!user)
        return user.error();
      out.id = user->id();
      if (kudos_mk == 0)
        return status::ok();
      return ledger::apply_grant(txn, *ledger::plan_grant(out.id, kudos_mk, name), now_ms).to_status();
    });
    BOOST_REQUIRE_MESSAGE(s, s.to_string());
    return out;
  }

  int64_t balance(const requester& r) {
    auto txn = store->read();
    BOOST_REQUIRE(txn.has_value());
    return persistence::ledger_book::balance(**txn, r.id)->balance_mk();
  }

  static v1::JobRequest request(uint32_t n = 1) {
    v1::JobRequest r;
    r.set_prompt("a lighthouse at dusk");
    r.add_models("stable_diffusion");
    r.set_steps(4);
    r.set_width(64);
    r.set_height(64);
    r.set_n(n);
    return r;
  }

  result<pb<v1::SubmitReply>> submit(const v1::JobRequest& r) {
    return ask<pb<v1::SubmitReply>>(broker, submit_atom::value, alice.key, pb<v1::JobRequest>{r});
  }

  v1::JobStatus status_of(const uuid& id) {
    auto s = ask<pb<v1::JobStatus>>(broker, status_atom::value, id);
    BOOST_REQUIRE_MESSAGE(s.has_value(), s.to_status().to_string());
    return s->value;
  }

  /// Worker 11 of `owner` delivers image `index` of `id` (a real 64x64 PNG: the Scheduler has checked it).
  void deliver(const uuid& id, uint32_t index) {
    v1::GenerationResult result;
    result.set_image(testing::test_png(64, 64, index + 1));
    result.set_seed(1);
    tell(broker, completed_atom::value, id, index, uint64_t{11}, owner.id, pb<v1::GenerationResult>{result});
  }

  v1::NodeConfig config;
  std::shared_ptr<testing::scheduler_log> log = std::make_shared<testing::scheduler_log>();
  caf::actor scheduler;
  broker_actor broker;
  requester alice;
  requester owner;
};

uuid id_of(const pb<v1::SubmitReply>& reply) {
  return *uuid::from_bytes(reply.value.job_id());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(broker_actor_suite, broker_fixture)

BOOST_AUTO_TEST_CASE(a_submission_that_is_not_stored_is_refused_and_taken_back_out) {
  kv->fail_commit(1);
  auto refused = submit(request());
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code() == errc::unavailable));
  // It was placed at once (dispatch does not wait for the disk), then taken back out.
  BOOST_REQUIRE(log->enqueued.size() == 1u);
  auto id = *uuid::from_bytes(log->enqueued[0].id());
  BOOST_REQUIRE(log->cancelled.size() == 1u);
  BOOST_TEST((log->cancelled[0] == id));
  auto gone = ask<pb<v1::JobStatus>>(broker, status_atom::value, id);
  BOOST_TEST((gone.to_status().code() == errc::not_found));
  BOOST_TEST(balance(alice) == 100'000);
  // Its images do not count against the requester's limits.
  auto accepted = submit(request(4));
  BOOST_REQUIRE_MESSAGE(accepted.has_value(), accepted.to_status().to_string());
}

BOOST_AUTO_TEST_CASE(a_full_store_refuses_a_submission_and_keeps_nothing_of_it) {
  kv->set_full(true);
  auto refused = submit(request());
  BOOST_REQUIRE(!refused);
  BOOST_TEST((refused.error().code() == errc::resource_exhausted));
  kv->set_full(false);
  size_t jobs = 0;
  auto txn = store->read();
  BOOST_REQUIRE(txn.has_value());
  BOOST_REQUIRE(persistence::job_table::scan_state(
      **txn, v1::QUEUED, [&](v1::JobRecord&) { return ++jobs, true; }, [](auto&&...) {}));
  BOOST_TEST(jobs == 0u);
}

BOOST_AUTO_TEST_CASE(a_delivery_that_is_not_stored_runs_again_and_is_paid_once_when_it_is) {
  auto reply = submit(request());
  BOOST_REQUIRE(reply.has_value());
  auto id = id_of(*reply);
  tell(broker, started_atom::value, id, uint32_t{0}, uint64_t{11}, std::string("w"));
  BOOST_TEST(status_of(id).state() == v1::RUNNING);
  int64_t before = balance(alice);
  kv->fail_commit(1);
  deliver(id, 0);
  // Not lost: the image went back to the Scheduler's queue; nobody was charged or credited.
  BOOST_REQUIRE(log->enqueued.size() == 2u);
  BOOST_TEST(log->enqueued[1].id() == reply->value.job_id());
  BOOST_TEST(log->credits.empty());
  BOOST_TEST(balance(alice) == before);
  BOOST_TEST(balance(owner) == 0);
  BOOST_TEST(status_of(id).state() == v1::RUNNING);
  deliver(id, 0);
  deliver(id, 0);  // a duplicate: settled once
  auto done = status_of(id);
  BOOST_TEST(done.state() == v1::DONE);
  BOOST_REQUIRE(log->credits.size() == 1u);
  BOOST_TEST(balance(alice) == before - done.charged_mk());
  BOOST_TEST(balance(owner) == log->credits[0].kudos_mk);
  BOOST_TEST(log->credits[0].kudos_mk > 0);
}

BOOST_AUTO_TEST_CASE(a_cancel_that_is_not_stored_leaves_the_job_running) {
  auto reply = submit(request(2));
  BOOST_REQUIRE(reply.has_value());
  auto id = id_of(*reply);
  kv->fail_commit(1);
  auto refused = ask<pb<v1::JobStatus>>(broker, cancel_atom::value, id);
  BOOST_TEST((refused.to_status().code() == errc::unavailable));
  BOOST_TEST(log->cancelled.empty());
  BOOST_TEST(status_of(id).state() == v1::QUEUED);
  auto cancelled = ask<pb<v1::JobStatus>>(broker, cancel_atom::value, id);
  BOOST_REQUIRE(cancelled.has_value());
  BOOST_TEST(cancelled->value.state() == v1::CANCELLED);
  BOOST_TEST(log->cancelled.size() == 1u);
  deliver(id, 0);  // too late: discarded, unpaid
  BOOST_TEST(log->credits.empty());
  BOOST_TEST(balance(owner) == 0);
}

BOOST_AUTO_TEST_CASE(acknowledged_jobs_are_placed_again_after_a_restart) {
  auto first = submit(request());
  auto second = submit(request(2));
  BOOST_REQUIRE(first.has_value() && second.has_value());
  deliver(id_of(*first), 0);
  caf::anon_send_exit(broker, caf::exit_reason::kill);
  caf::anon_send_exit(scheduler, caf::exit_reason::kill);
  run();
  reopen_store();
  log = std::make_shared<testing::scheduler_log>();
  start_broker();
  // Only the unfinished job waits again.
  BOOST_REQUIRE(log->enqueued.size() == 1u);
  BOOST_TEST(log->enqueued[0].id() == second->value.job_id());
  BOOST_TEST(status_of(id_of(*first)).state() == v1::DONE);
  BOOST_TEST(status_of(id_of(*second)).state() == v1::QUEUED);
}

BOOST_AUTO_TEST_CASE(subscribers_hear_the_start_the_image_and_the_end_in_order) {
  auto reply = submit(request());
  BOOST_REQUIRE(reply.has_value());
  auto id = id_of(*reply);
  auto watching =
      ask<pb<v1::JobStatus>>(broker, subscribe_atom::value, id, caf::actor_cast<caf::actor>(self()));
  BOOST_REQUIRE(watching.has_value());
  tell(broker, started_atom::value, id, uint32_t{0}, uint64_t{11}, std::string("w"));
  deliver(id, 0);
  std::vector<std::string> heard;
  bool more = true;
  while (more) {
    self()->receive(
        [&](event_atom, const pb<v1::JobEvent>& e) {
          heard.push_back(v1::JobEvent::Kind_Name(e.value.kind()) + ":" +
                          v1::JobState_Name(e.value.status().state()));
        },
        [&](image_atom, const pb<v1::GenerationResult>&) { heard.emplace_back("image"); },
        caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
  }
  std::vector<std::string> expected{"STATE:RUNNING", "PROGRESS:RUNNING", "IMAGE:DONE", "image", "STATE:DONE"};
  BOOST_TEST(heard == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff
