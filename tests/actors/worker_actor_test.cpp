// The Worker actor on CAF's test coordinator: its behaviours (joining, serving, draining) and what it tells
// its endpoint in each, with generations that run only when the test says so.

#include "actors/worker/worker_actor.hpp"

#include <boost/test/unit_test.hpp>

#include "actors/worker/worker_state.hpp"
#include "deterministic_fixture.hpp"
#include "fake_endpoint.hpp"
#include "fake_generator.hpp"

namespace crowdiff {
namespace {

class worker_fixture : public testing::deterministic_fixture {
 public:
  worker_fixture() {
    uplink = spawn(testing::fake_uplink, log, endpoints);
    worker_options o;
    o.uplink = caf::actor_cast<uplink_actor>(uplink);
    o.gen = gen;
    o.name = "w";
    o.owner_user_id = 2;
    o.runner = runner;
    o.now = clock;
    worker = spawn(worker_fn, std::move(o));
  }

  void push(uint64_t assignment, uint32_t steps = 2) {
    v1::TaskSpec t;
    t.set_assignment_id(assignment);
    t.set_job_id(uuid::random().to_bytes());
    t.mutable_request()->set_steps(steps);
    t.mutable_request()->set_width(64);
    t.mutable_request()->set_height(64);
    t.set_seed(assignment);
    tell(worker, run_atom::value, pb<v1::TaskSpec>{t});
  }

  /// Runs the next generation on the test's thread, then lets the actors handle what it reported.
  void generate() {
    BOOST_REQUIRE(runner->run_next());
    run();
  }

  std::vector<std::string> heard_without_progress() const {
    std::vector<std::string> out;
    for (const auto& h : log->heard)
      if (h.rfind("progress:", 0) != 0)
        out.push_back(h);
    return out;
  }

  bool alive(const caf::actor& a) {
    return caf::actor_cast<caf::strong_actor_ptr>(a) != nullptr &&
           !a->getf(caf::abstract_actor::is_terminated_flag);
  }

  std::shared_ptr<testing::endpoint_log> log = std::make_shared<testing::endpoint_log>();
  std::shared_ptr<std::vector<caf::actor>> endpoints = std::make_shared<std::vector<caf::actor>>();
  std::shared_ptr<testing::manual_runner> runner = std::make_shared<testing::manual_runner>();
  std::shared_ptr<testing::fake_generator> gen = std::make_shared<testing::fake_generator>();
  caf::actor uplink;
  worker_impl_actor worker;
};

using strings = std::vector<std::string>;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(worker_actor_suite, worker_fixture)

BOOST_AUTO_TEST_CASE(it_joins_then_runs_pushed_tasks_one_after_another) {
  BOOST_TEST(log->heard == strings{"join"}, boost::test_tools::per_element());
  push(1);
  push(2);
  BOOST_TEST(runner->pending() == 1u);  // the second waits in the worker
  generate();
  BOOST_TEST(runner->pending() == 1u);  // the second started the moment the first ended
  generate();
  BOOST_TEST(heard_without_progress() == (strings{"join", "result:1", "result:2"}),
             boost::test_tools::per_element());
  BOOST_TEST(log->count("progress:1") == 2u);
}

BOOST_AUTO_TEST_CASE(draining_finishes_the_running_task_refuses_the_rest_then_leaves) {
  push(1);
  push(2);
  tell(worker, drain_atom::value);
  push(3);
  BOOST_TEST(alive(caf::actor_cast<caf::actor>(worker)));
  generate();
  BOOST_TEST(heard_without_progress() == (strings{"join", "fault:2", "fault:3", "result:1", "leave"}),
             boost::test_tools::per_element());
  BOOST_TEST(!alive(caf::actor_cast<caf::actor>(worker)));
  BOOST_TEST(runner->pending() == 0u);
}

BOOST_AUTO_TEST_CASE(an_idle_worker_leaves_at_once_when_drained) {
  tell(worker, drain_atom::value);
  BOOST_TEST(heard_without_progress() == (strings{"join", "leave"}), boost::test_tools::per_element());
  BOOST_TEST(!alive(caf::actor_cast<caf::actor>(worker)));
}

BOOST_AUTO_TEST_CASE(a_result_finished_while_rejoining_is_delivered_after_the_join) {
  push(1);
  push(2);
  log->hold_joins = true;
  BOOST_REQUIRE(endpoints->size() == 1u);
  caf::anon_send_exit((*endpoints)[0], caf::exit_reason::kill);
  run();
  BOOST_TEST(endpoints->size() == 2u);  // asked its uplink again and is joining the new endpoint
  generate();                           // task 1 ends while the join is not answered
  BOOST_TEST(log->count("result:1") == 0u);
  BOOST_TEST(log->count("progress:1") == 0u);  // progress while joining goes nowhere
  BOOST_TEST(runner->pending() == 0u);         // task 2 was the lost session's: the core requeued it
  tell(endpoints->back(), tick_atom::value);
  BOOST_TEST(heard_without_progress() == (strings{"join", "join", "result:1"}),
             boost::test_tools::per_element());
  push(3);  // serving again
  generate();
  BOOST_TEST(log->count("result:3") == 1u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_task_reports_nothing_and_a_cancelled_waiting_task_never_runs) {
  push(1);
  push(2);
  tell(worker, cancel_atom::value, uint64_t{2});  // waiting: dropped
  tell(worker, cancel_atom::value, uint64_t{1});  // running: stopped
  generate();
  BOOST_TEST(runner->pending() == 0u);
  BOOST_TEST(heard_without_progress() == strings{"join"}, boost::test_tools::per_element());
  BOOST_TEST(gen->cancelled_runs.load() == 1);
}

BOOST_AUTO_TEST_CASE(a_generation_fault_is_reported_and_the_next_task_runs) {
  gen->fault = [](const v1::TaskSpec& t) {
    return t.assignment_id() == 1 ? status{errc::generation_failed, "out of memory"} : status::ok();
  };
  push(1);
  push(2);
  generate();
  generate();
  BOOST_TEST(heard_without_progress() == (strings{"join", "fault:1", "result:2"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff
