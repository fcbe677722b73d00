// benchmarks/scheduler: assignment throughput and decision latency of the allocator with 10,000 waiting jobs
// and 1,000 workers, against a baseline measured in the same run: the AI Horde's pop algorithm (each free
// worker scans the whole priority-sorted queue for the first job it can run).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "actors/scheduler/allocator.hpp"

using namespace crowdiff;
using namespace crowdiff::scheduling;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr int worker_count = 1000;
constexpr int waiting_jobs = 10'000;
constexpr int model_count = 12;

struct workload {
  std::mt19937_64 rng{42};
  uint64_t seq = 1;

  worker_state make_worker(worker_id id) {
    worker_state w;
    w.id = id;
    w.owner = id;
    w.name = "w" + std::to_string(id);
    int models = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < models; ++i) {
      model_id m = static_cast<model_id>(rng() % model_count);
      if (w.find_model(m) == nullptr)
        w.models.push_back({m, rng() % 2 == 0, 8000, 0});
    }
    w.max_pixels = (rng() % 4 == 0) ? 512 * 512 : 1024 * 1024;
    w.nsfw = rng() % 2 == 0;
    w.mps_per_s = 0.5 + static_cast<double>(rng() % 100) / 10.0;
    w.features = feature_img2img | feature_karras | feature_clip_skip;
    return w;
  }

  task make_task(int64_t now) {
    task t;
    t.job = uuid{};
    uint64_t s = seq++;
    for (int i = 0; i < 8; ++i)
      t.job.bytes[i] = static_cast<uint8_t>(s >> (8 * i));
    t.sequence = s;
    t.models = {static_cast<model_id>(rng() % model_count)};
    t.pixels = (rng() % 3 == 0) ? 768 * 768 : 512 * 512;
    t.megapixel_steps = static_cast<double>(t.pixels) * 30 / 1e6;
    t.nsfw = rng() % 5 == 0;
    t.queued_ms = now;
    t.order_key = static_cast<double>(rng() % 1000) - 5.0 * static_cast<double>(now) / 1000.0;
    return t;
  }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

struct result {
  double assignments_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  uint64_t assignments = 0;
};

// Ours: complete a random running image (its worker frees a slot and takes the next task at once), then
// submit one new job so 10,000 keep waiting. Each call is one decision.
result run_allocator(int events) {
  workload wl;
  allocator alloc;
  for (int m = 0; m < model_count; ++m)
    alloc.intern("model_" + std::to_string(m));
  decisions d;
  int64_t now = 0;
  for (int i = 1; i <= worker_count; ++i)
    alloc.add_worker(wl.make_worker(static_cast<worker_id>(i)), now, d);
  std::vector<assignment> running = d.dispatch;
  while (alloc.queue().size() < static_cast<size_t>(waiting_jobs)) {
    decisions add;
    alloc.add_task(wl.make_task(now), now, add);
    running.insert(running.end(), add.dispatch.begin(), add.dispatch.end());
  }
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(events) * 2);
  uint64_t assigned = 0;
  double busy_s = 0;
  for (int e = 0; e < events && !running.empty(); ++e) {
    now += 1;
    size_t pick = wl.rng() % running.size();
    assignment done = running[pick];
    running[pick] = running.back();
    running.pop_back();
    decisions out;
    auto t0 = clock_type::now();
    alloc.complete(done.id, done.worker, done.job, done.index, 1000, now, out);
    auto t1 = clock_type::now();
    auto next = wl.make_task(now);
    decisions add;
    auto t2 = clock_type::now();
    alloc.add_task(std::move(next), now, add);
    auto t3 = clock_type::now();
    double a = std::chrono::duration<double, std::micro>(t1 - t0).count();
    double b = std::chrono::duration<double, std::micro>(t3 - t2).count();
    latencies.push_back(a);
    latencies.push_back(b);
    busy_s += (a + b) / 1e6;
    assigned += out.dispatch.size() + add.dispatch.size();
    running.insert(running.end(), out.dispatch.begin(), out.dispatch.end());
    running.insert(running.end(), add.dispatch.begin(), add.dispatch.end());
  }
  return {static_cast<double>(assigned) / busy_s, percentile(latencies, 0.5), percentile(latencies, 0.99),
          assigned};
}

// Baseline: the AI Horde's pop. A free worker walks the queue (sorted by priority) from the top and takes the
// first job it can run; new jobs are inserted in order.
result run_pop_baseline(int events) {
  workload wl;
  std::vector<worker_state> workers;
  for (int i = 1; i <= worker_count; ++i)
    workers.push_back(wl.make_worker(static_cast<worker_id>(i)));
  std::vector<task> queue;
  int64_t now = 0;
  auto insert = [&](task t) {
    auto it = std::upper_bound(queue.begin(), queue.end(), t,
                               [](const task& a, const task& b) { return a.order_key > b.order_key; });
    queue.insert(it, std::move(t));
  };
  auto can_run = [](const task& t, const worker_state& w) {
    return t.pixels <= w.max_pixels && (!t.nsfw || w.nsfw) && w.find_model(t.models[0]) != nullptr;
  };
  for (int i = 0; i < waiting_jobs + worker_count; ++i)
    insert(wl.make_task(now));
  std::vector<double> latencies;
  uint64_t assigned = 0;
  double busy_s = 0;
  for (int e = 0; e < events; ++e) {
    now += 1;
    auto& w = workers[wl.rng() % workers.size()];
    auto t0 = clock_type::now();
    auto it = std::find_if(queue.begin(), queue.end(), [&](const task& t) { return can_run(t, w); });
    if (it != queue.end()) {
      queue.erase(it);
      ++assigned;
    }
    auto t1 = clock_type::now();
    auto next = wl.make_task(now);
    auto t2 = clock_type::now();
    insert(std::move(next));
    auto t3 = clock_type::now();
    double a = std::chrono::duration<double, std::micro>(t1 - t0).count();
    double b = std::chrono::duration<double, std::micro>(t3 - t2).count();
    latencies.push_back(a);
    latencies.push_back(b);
    busy_s += (a + b) / 1e6;
  }
  return {static_cast<double>(assigned) / busy_s, percentile(latencies, 0.5), percentile(latencies, 0.99),
          assigned};
}

}  // namespace

int main(int argc, char** argv) {
  int events = argc > 1 ? std::atoi(argv[1]) : 200'000;
  auto ours = run_allocator(events);
  auto base = run_pop_baseline(std::max(events / 10, 1000));
  std::printf("scheduler: %d workers, %d waiting jobs, %d models (one core)\n\n", worker_count, waiting_jobs,
              model_count);
  std::printf("%-28s %16s %14s %14s\n", "allocator", "assignments/s", "decision p50", "decision p99");
  std::printf("%-28s %16.0f %11.2f us %11.2f us\n", "crowdiff (push, buckets)", ours.assignments_per_s,
              ours.p50_us, ours.p99_us);
  std::printf("%-28s %16.0f %11.2f us %11.2f us\n", "baseline (AI Horde pop scan)", base.assignments_per_s,
              base.p50_us, base.p99_us);
  std::printf("%-28s %15.1fx %13.1fx %13.1fx\n\n", "ratio (crowdiff / baseline)",
              ours.assignments_per_s / base.assignments_per_s, base.p50_us / ours.p50_us,
              base.p99_us / ours.p99_us);
  std::printf("targets: p99 decision < 1000 us: %s; >= 50000 assignments/s: %s\n",
              ours.p99_us < 1000 ? "met" : "MISSED", ours.assignments_per_s >= 50'000 ? "met" : "MISSED");
  std::printf(
      "{\"bench\":\"scheduler\",\"decision_p50_us\":%.3f,\"decision_p99_us\":%.3f,\"assignments_per_s\":%.0f,"
      "\"baseline_assignments_per_s\":%.0f}\n",
      ours.p50_us, ours.p99_us, ours.assignments_per_s, base.assignments_per_s);
  return 0;
}
