#include "actors/scheduler/allocator.hpp"

#include <boost/test/unit_test.hpp>

#include "actors/scheduler/uptime_pay.hpp"

using namespace crowdiff;
using namespace crowdiff::scheduling;

namespace {

struct fixture {
  allocator alloc{allocator_config{5.0, 4, 2.0, 1000, 10'000, 60'000}};
  model_id sd = alloc.intern("stable_diffusion");
  model_id xl = alloc.intern("sdxl");
  uint64_t next_seq = 1;

  worker_state worker(worker_id id, double mps, std::vector<model_id> models, bool loaded = true) {
    worker_state w;
    w.id = id;
    w.owner = 100 + id;
    w.name = "w" + std::to_string(id);
    for (auto m : models)
      w.models.push_back({m, loaded, 5'000, 0});
    w.max_pixels = 1024 * 1024;
    w.mps_per_s = mps;
    w.features = feature_img2img | feature_karras;
    return w;
  }

  task make_task(double priority = 0, int64_t queued = 0, std::vector<model_id> models = {}) {
    task t;
    t.job = uuid::random();
    t.sequence = next_seq++;
    t.models = models.empty() ? std::vector<model_id>{sd} : models;
    t.pixels = 512 * 512;
    t.megapixel_steps = 512.0 * 512 * 30 / 1e6;
    t.queued_ms = queued;
    t.order_key = alloc.order_key(priority, queued);
    return t;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(allocator_suite, fixture)

BOOST_AUTO_TEST_CASE(a_new_task_goes_at_once_to_the_fastest_free_worker) {
  decisions d;
  alloc.add_worker(worker(1, 1.0, {sd}), 0, d);
  alloc.add_worker(worker(2, 4.0, {sd}), 0, d);
  alloc.add_worker(worker(3, 9.0, {xl}), 0, d);  // faster, but not this model
  BOOST_TEST(d.dispatch.empty());
  alloc.add_task(make_task(), 0, d);
  BOOST_REQUIRE_EQUAL(d.dispatch.size(), 1u);
  BOOST_TEST(d.dispatch[0].worker == 2u);
  BOOST_TEST(d.dispatch[0].model == sd);
  BOOST_TEST(alloc.queue().empty());
}

BOOST_AUTO_TEST_CASE(a_loaded_model_beats_a_slightly_faster_worker_that_must_load_it) {
  decisions d;
  alloc.add_worker(worker(1, 2.0, {sd}, true), 0, d);
  alloc.add_worker(worker(2, 2.5, {sd}, false), 0, d);
  alloc.add_task(make_task(), 0, d);
  BOOST_REQUIRE_EQUAL(d.dispatch.size(), 1u);
  BOOST_TEST(d.dispatch[0].worker == 1u);
}

BOOST_AUTO_TEST_CASE(ineligible_workers_are_never_used) {
  decisions d;
  auto small = worker(1, 5.0, {sd});
  small.max_pixels = 256 * 256;
  alloc.add_worker(small, 0, d);
  auto sfw = worker(2, 5.0, {sd});
  alloc.add_worker(sfw, 0, d);
  auto t = make_task();
  t.nsfw = true;
  alloc.add_task(t, 0, d);  // too big for 1, nsfw for 2
  auto denied = make_task();
  denied.deny = {"w2"};
  alloc.add_task(denied, 0, d);  // too big for 1, denied by 2
  auto needs = make_task();
  needs.features = feature_clip_skip;
  alloc.add_task(needs, 0, d);
  BOOST_TEST(d.dispatch.empty());
  BOOST_TEST(alloc.queue().size() == 3u);
  auto allowed = make_task();
  allowed.allow = {"w2"};
  alloc.add_task(allowed, 0, d);
  BOOST_REQUIRE_EQUAL(d.dispatch.size(), 1u);
  BOOST_TEST(d.dispatch[0].worker == 2u);
}

BOOST_AUTO_TEST_CASE(a_freed_worker_takes_the_highest_priority_and_ageing_lets_old_jobs_through) {
  decisions d;
  alloc.add_worker(worker(1, 1.0, {sd}), 0, d);
  auto first = make_task(0, 0);
  alloc.add_task(first, 0, d);  // occupies the worker
  auto old_poor = make_task(0, 0);
  auto rich_late = make_task(40, 10'000);     // 40 kudos, arrives 10 s later: 40 - 50 < 0
  auto richer_late = make_task(100, 10'000);  // 100 - 50 > 0
  alloc.add_task(old_poor, 0, d);
  alloc.add_task(rich_late, 10'000, d);
  alloc.add_task(richer_late, 10'000, d);
  BOOST_REQUIRE_EQUAL(d.dispatch.size(), 1u);
  std::vector<uint64_t> order;
  for (int i = 0; i < 3; ++i) {
    decisions next;
    auto a = alloc.complete(d.dispatch.back().id, 1, d.dispatch.back().job, 0, 100, 20'000, next);
    BOOST_REQUIRE(a.has_value());
    BOOST_REQUIRE_EQUAL(next.dispatch.size(), 1u);
    d.dispatch.push_back(next.dispatch[0]);
    order.push_back(next.dispatch[0].task_key);
  }
  BOOST_TEST((order == std::vector<uint64_t>{richer_late.key(), old_poor.key(), rich_late.key()}));
}

BOOST_AUTO_TEST_CASE(a_dead_workers_task_moves_to_another_worker_at_once) {
  decisions d;
  alloc.add_worker(worker(1, 9.0, {sd}), 0, d);
  auto t = make_task();
  alloc.add_task(t, 0, d);
  BOOST_REQUIRE_EQUAL(d.dispatch.size(), 1u);
  alloc.add_worker(worker(2, 1.0, {sd}), 0, d);
  decisions after;
  alloc.remove_worker(1, 500, after);
  BOOST_REQUIRE_EQUAL(after.dispatch.size(), 1u);
  BOOST_TEST(after.dispatch[0].worker == 2u);
  BOOST_TEST(after.dispatch[0].task_key == t.key());
  BOOST_REQUIRE_EQUAL(after.requeued.size(), 1u);
  // Its late result (the worker was not really dead) is not lost, but the one running wins only once.
  decisions late;
  auto won = alloc.complete(after.dispatch[0].id, 2, t.job, 0, 100, 900, late);
  BOOST_TEST(won.has_value());
  decisions dup;
  BOOST_TEST(!alloc.complete(after.dispatch[0].id, 2, t.job, 0, 100, 950, dup).has_value());
}

BOOST_AUTO_TEST_CASE(faults_retry_elsewhere_then_fail) {
  decisions d;
  for (worker_id id = 1; id <= 5; ++id)
    alloc.add_worker(worker(id, 1.0 + id, {sd}), 0, d);
  auto t = make_task();
  alloc.add_task(t, 0, d);
  std::vector<worker_id> tried;
  auto current = d.dispatch.back();
  for (int attempt = 1; attempt <= 4; ++attempt) {
    tried.push_back(current.worker);
    decisions f;
    alloc.fault(current.id, current.worker, errc::generation_failed, "out of memory", 100, f);
    if (attempt < 4) {
      BOOST_REQUIRE_EQUAL(f.dispatch.size(), 1u);
      current = f.dispatch[0];
      BOOST_TEST((std::find(tried.begin(), tried.end(), current.worker) == tried.end()));
    } else {
      BOOST_TEST(f.dispatch.empty());
      BOOST_REQUIRE_EQUAL(f.failed.size(), 1u);
      BOOST_TEST(f.failed[0].code == errc::generation_failed);
      BOOST_TEST(f.failed[0].reason.find("out of memory") != std::string::npos);
    }
  }
  BOOST_TEST(alloc.running() == 0u);
}

BOOST_AUTO_TEST_CASE(a_straggler_gets_a_backup_and_the_first_result_wins) {
  decisions d;
  alloc.add_worker(worker(1, 5.0, {sd}), 0, d);
  auto t = make_task();
  alloc.add_task(t, 0, d);
  auto original = d.dispatch.back();
  alloc.add_worker(worker(2, 1.0, {sd}), 0, d);
  decisions early;
  alloc.tick(original.estimated_ms, early);
  BOOST_TEST(early.dispatch.empty());
  decisions late;
  alloc.tick(original.estimated_ms * 2 + 2000, late);
  BOOST_REQUIRE_EQUAL(late.dispatch.size(), 1u);
  auto backup = late.dispatch[0];
  BOOST_TEST(backup.worker == 2u);
  BOOST_TEST(backup.backup);
  decisions win;
  auto winner = alloc.complete(backup.id, 2, t.job, 0, 1000, 20'000, win);
  BOOST_REQUIRE(winner.has_value());
  BOOST_TEST(winner->worker == 2u);
  BOOST_REQUIRE_EQUAL(win.cancel.size(), 1u);
  BOOST_TEST(win.cancel[0].id == original.id);
  decisions loser;
  BOOST_TEST(!alloc.complete(original.id, 1, t.job, 0, 1000, 21'000, loser).has_value());
}

BOOST_AUTO_TEST_CASE(cancel_drops_waiting_and_stops_running_images) {
  decisions d;
  alloc.add_worker(worker(1, 1.0, {sd}), 0, d);
  auto a = make_task();
  auto b = a;
  b.index = 1;
  alloc.add_task(a, 0, d);
  alloc.add_task(b, 0, d);
  BOOST_TEST(alloc.queue().size() == 1u);
  decisions c;
  alloc.cancel_job(a.job, 10, c);
  BOOST_REQUIRE_EQUAL(c.cancel.size(), 1u);
  BOOST_TEST(alloc.queue().empty());
  BOOST_TEST(alloc.running() == 0u);
  BOOST_TEST(alloc.workers().find(1)->busy == 0u);
}

BOOST_AUTO_TEST_CASE(a_task_nobody_can_run_fails_clearly_and_estimates_say_so) {
  decisions d;
  alloc.add_worker(worker(1, 1.0, {sd}), 0, d);
  auto t = make_task(0, 0, {xl});
  alloc.add_task(t, 0, d);
  auto e = alloc.estimate(t.job, 0);
  BOOST_TEST(!e.possible);
  BOOST_TEST(e.position == 1u);
  decisions first;
  alloc.tick(1000, first);
  BOOST_TEST(first.failed.empty());
  decisions later;
  alloc.tick(1000 + 60'000, later);
  BOOST_REQUIRE_EQUAL(later.failed.size(), 1u);
  BOOST_TEST(later.failed[0].code == errc::unavailable);
}

BOOST_AUTO_TEST_CASE(expired_tasks_fail_with_deadline_exceeded) {
  decisions d;
  auto t = make_task();
  t.expires_ms = 5000;
  alloc.add_worker(worker(1, 1.0, {sd}), 0, d);
  alloc.add_task(make_task(), 0, d);  // keeps the worker busy
  alloc.add_task(t, 0, d);
  decisions later;
  alloc.tick(5000, later);
  BOOST_REQUIRE_EQUAL(later.failed.size(), 1u);
  BOOST_TEST(later.failed[0].code == errc::deadline_exceeded);
}

BOOST_AUTO_TEST_CASE(estimates_count_the_work_ahead) {
  decisions d;
  alloc.add_worker(worker(1, 2.0, {sd}), 0, d);
  alloc.add_task(make_task(), 0, d);
  auto second = make_task(0, 1);
  auto third = make_task(0, 2);
  alloc.add_task(second, 1, d);
  alloc.add_task(third, 2, d);
  auto e2 = alloc.estimate(second.job, 100);
  auto e3 = alloc.estimate(third.job, 100);
  BOOST_TEST(e2.position == 1u);
  BOOST_TEST(e3.position == 2u);
  BOOST_TEST(e3.start_ms > e2.start_ms);
  BOOST_TEST(e3.finish_ms > e3.start_ms);
  BOOST_TEST(e2.possible);
}

BOOST_AUTO_TEST_CASE(results_from_strangers_are_ignored) {
  decisions d;
  alloc.add_worker(worker(1, 1.0, {sd}), 0, d);
  alloc.add_worker(worker(2, 0.5, {sd}), 0, d);
  auto t = make_task();
  alloc.add_task(t, 0, d);
  auto a = d.dispatch.back();
  decisions x;
  BOOST_TEST(!alloc.complete(a.id, 2, t.job, 0, 10, 10, x).has_value());  // worker 2 never had it
  BOOST_TEST(!alloc.complete(999, 2, t.job, 0, 10, 10, x).has_value());
  BOOST_TEST(alloc.running() == 1u);
}

BOOST_AUTO_TEST_CASE(features_have_one_table_for_bits_names_and_requests) {
  for (const auto& f : feature_table) {
    BOOST_TEST(feature_bit(f.name) == static_cast<uint32_t>(f.bit));
    BOOST_TEST(feature_names(f.bit) == std::vector<std::string>{std::string(f.name)});
  }
  BOOST_TEST(feature_bit("a_newer_workers_feature") == 0u);
  BOOST_TEST(feature_names(feature_karras | feature_img2img) ==
             (std::vector<std::string>{"img2img", "karras"}));
  v1::JobRequest r;
  BOOST_TEST(required_features(r) == 0u);
  r.set_source_image("x");
  r.set_karras(true);
  r.set_clip_skip(2);
  BOOST_TEST(required_features(r) == (feature_img2img | feature_karras | feature_clip_skip));
}

// Issue 11: 20 worker names that popped and did no work earned uptime, growing with the number of names.
BOOST_AUTO_TEST_CASE(uptime_is_paid_per_owner_for_serving_workers_only) {
  uptime_pay pay({60'000, 4});
  std::vector<uptime_worker> farm(20, uptime_worker{7, false, 0});  // never delivered anything
  BOOST_TEST(pay.due(farm, 1'000).empty());
  BOOST_TEST(pay.due(farm, 61'000).empty());
  // Six that served recently, one of them in maintenance: four are paid for (the cap), from the last call.
  std::vector<uptime_worker> real(6, uptime_worker{8, false, 100'000});
  real[0].maintenance = true;
  BOOST_TEST(pay.due(real, 120'000).empty());  // a new owner: paid from now on, never for time before
  auto p = pay.due(real, 130'000);
  BOOST_REQUIRE(p.size() == 1u);
  BOOST_TEST(p[0].owner == 8u);
  BOOST_TEST(p[0].workers == 4u);
  BOOST_TEST(p[0].from_ms == 120'000);
  BOOST_TEST(p[0].to_ms == 130'000);
  // Work too long ago no longer counts; an owner whose workers left is forgotten.
  BOOST_TEST(pay.due(real, 170'000).empty());
  BOOST_TEST(pay.due({}, 180'000).empty());
  std::vector<uptime_worker> back(1, uptime_worker{8, false, 179'000});
  BOOST_TEST(pay.due(back, 190'000).empty());  // back, but forgotten: no pay for the time away
  BOOST_TEST(pay.due(back, 200'000).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
