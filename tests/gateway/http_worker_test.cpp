// The HTTP worker actor against a real scheduler, with a clock the test moves: a worker that stops popping
// leaves instead of holding tasks, a late submit is told it was too late, a new model list re-registers.
#include "gateway/http_worker.hpp"

#include <atomic>

#include <boost/test/unit_test.hpp>

#include "core_fixture.hpp"
#include "gateway/horde_json.hpp"
#include "gateway/http_worker_state.hpp"

namespace {

using namespace crowdiff;
using crowdiff::testing::core_fixture;
using crowdiff::testing::patience;

struct http_worker_fixture : core_fixture {
  http_worker_fixture() {
    owner = add_user("owner");
    requester = add_user("requester", 100);
  }

  http_worker_actor spawn_worker() {
    gateway::http_worker_options o;
    o.scheduler = core.scheduler;
    o.now = [this] { return wall_ms() + skew_ms.load(); };
    auto w = system->spawn(gateway::http_worker_fn, std::move(o));
    workers_to_stop.push_back(w);
    return w;
  }

  ~http_worker_fixture() override {
    for (auto& w : workers_to_stop)
      caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  }

  v1::WorkerRegistration registration(const std::string& name, const std::string& model) {
    v1::WorkerRegistration reg;
    reg.set_name(name);
    reg.set_owner_user_id(owner.id);
    reg.set_slots(1);
    reg.set_max_pixels(1u << 20);
    auto* m = reg.add_models();
    m->set_name(model);
    m->set_loaded(true);
    return reg;
  }

  std::vector<pb<v1::TaskSpec>> pop(const http_worker_actor& w, const v1::WorkerRegistration& reg,
                                    uint32_t wait_ms) {
    std::vector<pb<v1::TaskSpec>> out;
    (*self)
        ->request(w, patience, pop_atom::value, pb<v1::WorkerRegistration>{reg}, wait_ms)
        .receive([&](std::vector<pb<v1::TaskSpec>>& tasks) { out = std::move(tasks); },
                 [&](caf::error& e) { BOOST_FAIL("pop: " + to_string(e)); });
    return out;
  }

  /// Polls the job's status until `pred` holds (bounded).
  template <class Pred>
  v1::JobStatus wait_status(const uuid& job, Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + patience;
    v1::JobStatus st;
    while (std::chrono::steady_clock::now() < deadline) {
      st = status_of(job);
      if (pred(st))
        return st;
      std::this_thread::yield();
    }
    BOOST_FAIL("the job never reached the expected state");
    return st;
  }

  testing::user_info owner;
  testing::user_info requester;
  std::atomic<int64_t> skew_ms{0};
  std::vector<http_worker_actor> workers_to_stop;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(http_worker, http_worker_fixture)

BOOST_AUTO_TEST_CASE(a_worker_that_stops_popping_leaves_and_its_task_runs_elsewhere) {
  auto w = spawn_worker();
  auto reg = registration("quiet", "stable_diffusion");
  BOOST_TEST(pop(w, reg, 0).empty());
  BOOST_REQUIRE(wait_for_workers([](const worker_summaries& ws) { return ws.size() == 1; }));
  auto job = submit_ok(requester.key, request());
  wait_status(job, [](const v1::JobStatus& s) { return s.images_running() == 1; });
  // Nobody pops for longer than the unpopped limit: the worker leaves, and the task waits for another worker.
  skew_ms = 10'000;
  BOOST_REQUIRE(wait_for_workers([](const worker_summaries& ws) { return ws.empty(); }));
  auto st = wait_status(job, [](const v1::JobStatus& s) { return s.images_waiting() == 1; });
  BOOST_TEST(st.state() != v1::FAILED);
  add_worker("native", owner.id, std::make_shared<testing::fake_generator>());
  auto done = wait_all({job});
  BOOST_TEST(done[0].state() == v1::DONE);
  // Popping again brings the worker back.
  BOOST_TEST(pop(w, reg, 0).empty());
  BOOST_TEST(wait_for_workers([](const worker_summaries& ws) {
    for (const auto& s : ws)
      if (s.name == "quiet")
        return true;
    return false;
  }));
}

BOOST_AUTO_TEST_CASE(a_submit_after_the_deadline_is_too_late) {
  auto w = spawn_worker();
  auto reg = registration("slow", "stable_diffusion");
  BOOST_TEST(pop(w, reg, 0).empty());
  auto job = submit_ok(requester.key, request());
  auto tasks = pop(w, reg, 20'000);
  BOOST_REQUIRE_EQUAL(tasks.size(), 1u);
  const auto& t = tasks.front().value;
  auto image = gateway::image_id(*uuid::from_bytes(t.job_id()), t.image_index());
  // The worker keeps a pop open (as a live one would), so only the popped task's deadline passes.
  caf::anon_send(w, pop_atom::value, pb<v1::WorkerRegistration>{reg}, uint32_t{7'200'000});
  skew_ms = 3'600'000;
  wait_status(job, [](const v1::JobStatus& s) { return s.images_restarted() >= 1; });
  v1::GenerationResult late;
  late.set_image(std::string("\x89PNG\r\n\x1a\n", 8));
  late.set_format("png");
  caf::error err;
  (*self)
      ->request(w, patience, result_atom::value, image, pb<v1::GenerationResult>{late})
      .receive([](int64_t) {}, [&](caf::error& e) { err = e; });
  BOOST_TEST(to_status(err).code() == errc::deadline_exceeded);
}

BOOST_AUTO_TEST_CASE(a_pop_with_other_models_re_registers) {
  auto w = spawn_worker();
  BOOST_TEST(pop(w, registration("switcher", "model-a"), 0).empty());
  BOOST_REQUIRE(wait_for_workers([](const worker_summaries& ws) { return ws.size() == 1; }));
  BOOST_TEST(pop(w, registration("switcher", "model-b"), 0).empty());
  BOOST_TEST(wait_for_workers(
      [](const worker_summaries& ws) { return ws.size() == 1 && ws.front().models == "model-b"; }));
}

BOOST_AUTO_TEST_SUITE_END()
