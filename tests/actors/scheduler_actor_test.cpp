// The Scheduler actor on CAF's test coordinator with a fake Broker and scripted workers, over a store that
// fails when told to: a worker is known only once its record is durable, a checked image reaches the Broker,
// a fake one is refused and runs elsewhere, and a dead worker's image is requeued.

#include "actors/scheduler/scheduler_actor.hpp"

#include <boost/test/unit_test.hpp>

#include "actors/broker/job_transitions.hpp"
#include "actors/ledger/pricing.hpp"
#include "actors/scheduler/scheduler_state.hpp"
#include "actors/worker/worker_actor.hpp"
#include "config/node_config.hpp"
#include "deterministic_fixture.hpp"
#include "fake_broker.hpp"
#include "fake_generator.hpp"
#include "persistence/user_table.hpp"
#include "persistence/worker_table.hpp"
#include "test_image.hpp"

namespace crowdiff {
namespace {

class scheduler_fixture : public testing::deterministic_fixture {
 public:
  scheduler_fixture() {
    ledger = spawn(testing::quiet_ledger, 0);
    broker = spawn(testing::fake_broker, heard);
    scheduler_options o;
    o.store = store.get();
    o.ledger = caf::actor_cast<ledger_actor>(ledger);
    o.tick_interval = std::chrono::hours(1);
    o.uptime_interval = std::chrono::hours(1);
    o.now = clock;
    scheduler = spawn(scheduler_fn, o);
    tell(scheduler, attach_atom::value, caf::actor_cast<broker_actor>(broker));
    auto made = store->write_sync([this](persistence::write_txn& txn) -> status {
      auto user = persistence::user_table::create(txn, "owner", std::string(32, 'o'), now_ms);
      if (!user)
        return user.error();
      owner = user->id();
      return status::ok();
    });
    BOOST_REQUIRE_MESSAGE(made, made.to_string());
  }

  struct worker {
    caf::actor handle;
    std::shared_ptr<testing::worker_log> log;
  };

  worker add_worker(const std::string& name) {
    worker_options o;
    o.gen = std::make_shared<testing::fake_generator>();
    o.name = name;
    o.owner_user_id = owner;
    o.mps_per_s = 2.0;
    worker w{{}, std::make_shared<testing::worker_log>()};
    w.handle = spawn(testing::scripted_worker, scheduler, make_registration(o), w.log);
    tell(w.handle, join_atom::value);
    if (w.log->join_error)
      BOOST_TEST_MESSAGE("join refused: " << w.log->join_error->to_string());
    return w;
  }

  uuid enqueue() {
    v1::JobRequest request;
    request.set_prompt("a lighthouse");
    request.add_models("stable_diffusion");
    request.set_steps(4);
    request.set_width(64);
    request.set_height(64);
    request.set_n(1);
    auto quote = ledger::quote(request, config::with_defaults({}).ledger());
    BOOST_REQUIRE(quote.has_value());
    broker::acceptance a;
    a.id = uuid::random();
    a.owner = 9;
    a.sequence = ++sequence;
    a.now_ms = now_ms;
    a.default_expiry_s = 1200;
    auto estimate = ask<queue_estimate>(scheduler, enqueue_atom::value,
                                        pb<v1::JobRecord>{broker::accepted_record(request, *quote, a)});
    BOOST_REQUIRE(estimate.has_value());
    return a.id;
  }

  void deliver(const worker& w, const std::string& bytes) {
    BOOST_REQUIRE(!w.log->runs.empty());
    tell(w.handle, result_atom::value, w.log->runs.back().assignment_id(), bytes);
  }

  v1::WorkerRecord record_of(const worker& w) {
    auto txn = store->read();
    BOOST_REQUIRE(txn.has_value());
    auto r = persistence::worker_table::get(**txn, w.log->id);
    BOOST_REQUIRE(r.has_value() && r->has_value());
    return **r;
  }

  std::shared_ptr<testing::broker_log> heard = std::make_shared<testing::broker_log>();
  caf::actor ledger;
  caf::actor broker;
  scheduler_actor scheduler;
  uint64_t sequence = 0;
  uint64_t owner = 0;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(scheduler_actor_suite, scheduler_fixture)

BOOST_AUTO_TEST_CASE(a_worker_whose_record_is_not_stored_is_refused_and_gets_nothing) {
  kv->fail_commit(1);
  auto w = add_worker("w");
  BOOST_REQUIRE(w.log->join_error.has_value());
  BOOST_TEST((w.log->join_error->code() == errc::unavailable));
  enqueue();
  BOOST_TEST(w.log->runs.empty());
  tell(w.handle, join_atom::value);  // joining again works once the store does
  BOOST_TEST(w.log->id != 0u);
  BOOST_TEST(w.log->runs.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_checked_image_reaches_the_broker_once) {
  auto w = add_worker("w");
  enqueue();
  BOOST_REQUIRE(w.log->runs.size() == 1u);
  BOOST_TEST(heard->count("started:0") == 1u);
  auto png = testing::test_png(64, 64, 3);
  deliver(w, png);
  deliver(w, png);  // the same result again: ignored
  BOOST_TEST(heard->count("completed:0:" + std::to_string(w.log->id)) == 1u);
  BOOST_REQUIRE(heard->images.size() == 1u);
  BOOST_TEST(heard->images[0].format() == "png");
}

BOOST_AUTO_TEST_CASE(a_fake_image_is_refused_counted_and_run_elsewhere) {
  auto a = add_worker("a");
  auto b = add_worker("b");
  enqueue();
  auto& first = a.log->runs.empty() ? b : a;
  auto& second = a.log->runs.empty() ? a : b;
  BOOST_REQUIRE(first.log->runs.size() == 1u);
  deliver(first, std::string("\x89PNG\r\n\x1a\n0123456789abcdef", 24));
  BOOST_TEST(heard->count("completed") == 0u);
  BOOST_TEST(heard->count("requeued:0") == 1u);
  BOOST_REQUIRE(second.log->runs.size() == 1u);  // the cheater is excluded for this image
  BOOST_TEST(record_of(first).rejected_results() == 1u);
  deliver(second, testing::test_png(64, 64, 4));
  BOOST_TEST(heard->count("completed:0:" + std::to_string(second.log->id)) == 1u);
}

BOOST_AUTO_TEST_CASE(a_dead_workers_image_is_requeued_and_runs_on_another) {
  auto a = add_worker("a");
  enqueue();
  BOOST_REQUIRE(a.log->runs.size() == 1u);
  caf::anon_send_exit(a.handle, caf::exit_reason::kill);
  run();
  BOOST_TEST(heard->count("requeued:0") == 1u);
  auto b = add_worker("b");
  BOOST_REQUIRE(b.log->runs.size() == 1u);
  deliver(b, testing::test_png(64, 64, 5));
  BOOST_TEST(heard->count("completed:0") == 1u);
}

BOOST_AUTO_TEST_CASE(a_result_from_another_address_is_not_accepted) {
  auto w = add_worker("w");
  enqueue();
  BOOST_REQUIRE(w.log->runs.size() == 1u);
  const auto& t = w.log->runs.back();
  v1::GenerationResult r;
  r.set_job_id(t.job_id());
  r.set_image_index(t.image_index());
  r.set_image(testing::test_png(64, 64, 6));
  tell(scheduler, result_atom::value, w.log->id, t.assignment_id(), pb<v1::GenerationResult>{r});
  BOOST_TEST(heard->count("completed") == 0u);  // the test's own actor is not that worker
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff
