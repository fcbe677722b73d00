// benchmarks/cluster: jobs per second through a real core process over loopback, with durable (fsynced)
// commits, and the time from submit to the worker receiving the job. The workers are separate processes (this
// program with --worker) whose generator takes no time, so the control plane is what is measured.
//
// Baseline, in the same run: the same submissions made one at a time (a request/response client such as the
// AI Horde's polling clients), to show what pipelining through the push path buys.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <signal.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/node/worker_node.hpp"
#include "common/log.hpp"
#include "config/node_config.hpp"
#include "crowdiff/client.hpp"
#include "models/image/png_codec.hpp"
#include "network/network_setup.hpp"
#include "protocol/actor_system_setup.hpp"
#include "protocol/interfaces.hpp"

using namespace crowdiff;

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The worker side: a generator that takes no time and notes how long each job took to arrive.
// A real 64x64 PNG (results are decoded and checked before they are paid): encoded once, sent every time.
const std::string& bench_png() {
  static const std::string bytes = [] {
    models::rgb_image img;
    img.width = 64;
    img.height = 64;
    img.pixels.resize(64 * 64 * 3);
    for (size_t i = 0; i < img.pixels.size(); ++i)
      img.pixels[i] = static_cast<uint8_t>(i % 251);
    auto png = models::encode_png(img);
    return png ? std::string(png->begin(), png->end()) : std::string{};
  }();
  return bytes;
}

class instant_generator : public generator {
 public:
  std::mutex mutex;
  std::vector<std::pair<long, int64_t>> dispatch_us;

  std::vector<v1::ModelOffer> models() override {
    v1::ModelOffer m;
    m.set_name("stable_diffusion");
    m.set_loaded(true);
    return {m};
  }
  std::string device() override { return "bench: no-op"; }
  uint64_t max_pixels() override { return 1024 * 1024; }
  uint32_t features() override { return 0; }
  result<double> benchmark() override { return 1000.0; }
  result<generated_image> generate(const v1::TaskSpec& task, const step_fn& on_step,
                                   const std::atomic<bool>&) override {
    int64_t received = now_us();
    // The prompt carries the run and the submit time: "bench <run> <microseconds>".
    char* rest = nullptr;
    long run = std::strtol(task.request().prompt().c_str() + 6, &rest, 10);
    auto sent = std::strtoll(rest, nullptr, 10);
    {
      std::lock_guard lock{mutex};
      dispatch_us.emplace_back(run, received - sent);
    }
    on_step(1, 1);
    generated_image img;
    img.bytes = bench_png();
    img.format = "png";
    img.width = 64;
    img.height = 64;
    return img;
  }
};

int worker_main(const std::string& core, const std::string& key, const std::string& name,
                const std::string& out) {
  log::set_level(log::level::warning);
  v1::NodeConfig config;
  config.mutable_worker()->set_core(core);
  config = config::with_defaults(config);
  auto gen = std::make_shared<instant_generator>();
  auto node = worker_node::start(config, key, {{name, gen}});
  if (!node) {
    std::fprintf(stderr, "worker: %s\n", node.error().to_string().c_str());
    return 1;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  std::ofstream file(out);
  std::lock_guard lock{gen->mutex};
  for (auto [run, us] : gen->dispatch_us)
    file << run << " " << us << "\n";
  file.close();
  _exit(0);  // the node need not shut down cleanly; its numbers are written
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "a", stderr);
    (void)f;
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// CPU seconds (user + system) a process has used so far.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string field;
  unsigned long utime = 0;
  unsigned long stime = 0;
  for (int i = 1; i <= 15 && in >> field; ++i) {
    if (i == 14)
      utime = std::stoul(field);
    if (i == 15)
      stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

v1::JobRequest bench_request(int run) {
  v1::JobRequest r;
  r.set_prompt("bench " + std::to_string(run) + " " + std::to_string(now_us()));
  r.set_steps(1);
  r.set_width(64);
  r.set_height(64);
  r.set_n(1);
  r.set_cfg_scale(7);
  r.set_sampler(v1::K_EULER);
  r.add_models("stable_diffusion");
  return r;
}

// Keeps `window` submissions in flight on one session until `total` have been acknowledged.
struct pipeline_state {
  client_session_actor session;
  int total = 0;
  int window = 0;
  int sent = 0;
  int acked = 0;
  int failed = 0;
  int run = 0;
  std::function<void()> done;
};

caf::behavior submitter(caf::stateful_actor<pipeline_state>* self, client_session_actor session, int run,
                        int total, int window, std::function<void()> done) {
  self->state.run = run;
  self->state.session = session;
  self->state.total = total;
  self->state.window = window;
  self->state.done = std::move(done);
  auto send_one = std::make_shared<std::function<void()>>();
  *send_one = [self, send_one] {
    auto& st = self->state;
    if (st.sent >= st.total)
      return;
    ++st.sent;
    self->request(st.session, caf::infinite, submit_atom::value, pb<v1::JobRequest>{bench_request(st.run)})
        .then(
            [self, send_one](pb<v1::SubmitReply>&) {
              if (++self->state.acked + self->state.failed == self->state.total)
                self->state.done();
              (*send_one)();
            },
            [self, send_one](caf::error&) {
              ++self->state.failed;
              if (self->state.acked + self->state.failed == self->state.total)
                self->state.done();
              (*send_one)();
            });
  };
  for (int i = 0; i < window; ++i)
    (*send_one)();
  return {[](int) {}};
}

// Sends `total` submissions at `rate` per second (an open loop: it does not wait for answers).
struct paced_state {
  client_session_actor session;
  int total = 0;
  int sent = 0;
  int answered = 0;
  double rate = 0;
  int64_t start_us = 0;
  std::function<void()> done;
};

caf::behavior paced_submitter(caf::stateful_actor<paced_state>* self, client_session_actor session, int total,
                              double rate, std::function<void()> done) {
  auto& st = self->state;
  st.session = session;
  st.total = total;
  st.rate = rate;
  st.start_us = now_us();
  st.done = std::move(done);
  self->send(self, int{0});
  return {
      [self](int) {
        auto& s = self->state;
        auto due = static_cast<int>(static_cast<double>(now_us() - s.start_us) * s.rate / 1e6) + 1;
        while (s.sent < std::min(due, s.total)) {
          ++s.sent;
          self->request(s.session, caf::infinite, submit_atom::value, pb<v1::JobRequest>{bench_request(3)})
              .then(
                  [self](pb<v1::SubmitReply>&) {
                    if (++self->state.answered == self->state.total)
                      self->state.done();
                  },
                  [self](caf::error&) {
                    if (++self->state.answered == self->state.total)
                      self->state.done();
                  });
        }
        if (s.sent < s.total)
          self->delayed_send(self, std::chrono::microseconds(500), int{0});
      },
  };
}

uint64_t images_done(client& c) {
  auto ws = c.workers();
  if (!ws)
    return 0;
  uint64_t n = 0;
  for (const auto& w : *ws)
    n += w.images_done;
  return n;
}

struct run_result {
  double jobs_per_s = 0;
  int failed = 0;
};

// Submits `total` jobs with `window` in flight; returns completions per second (submit of the first to the
// durable delivery of the last).
run_result run(caf::actor_system& sys, client& admin, const client_session_actor& session, int id, int total,
               int window) {
  uint64_t before = images_done(admin);
  std::atomic<bool> acked{false};
  int64_t start = now_us();
  auto driver = sys.spawn(submitter, session, id, total, window, [&acked] { acked = true; });
  while (!acked)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  while (images_done(admin) < before + static_cast<uint64_t>(total))
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  double seconds = static_cast<double>(now_us() - start) / 1e6;
  caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
  return {static_cast<double>(total) / seconds, 0};
}

// A loopback port nothing listens on right now (the kernel's pick: outside what others hold).
uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (argc >= 6 && std::string(argv[1]) == "--worker")
    return worker_main(argv[2], argv[3], argv[4], argv[5]);

  // bench_cluster [JOBS [WORKERS [WINDOW]]]: positive numbers, or the usage.
  int numbers[3] = {20000, 3, 256};
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    const long v = std::strtol(argv[i], &end, 10);
    if (i > 3 || end == argv[i] || *end != '\0' || v < 1 || v > 10'000'000) {
      std::fprintf(stderr, "usage: bench_cluster [JOBS (20000) [WORKER PROCESSES (3) [IN FLIGHT (256)]]]\n");
      return 2;
    }
    numbers[i - 1] = static_cast<int>(v);
  }
  const int jobs = numbers[0], workers = numbers[1], window = numbers[2];
  log::set_level(log::level::warning);

  auto dir = std::filesystem::temp_directory_path() / ("crowdiff-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const int port = free_port(), http_port = free_port();
  std::string core_addr = "127.0.0.1:" + std::to_string(port);
  pid_t core = spawn({CROWDIFF_BIN, "core", "--store", (dir / "var").string(), "--port", std::to_string(port),
                      "--http-port", std::to_string(http_port), "--log-level", "warning",
                      "--limits.max_concurrent_jobs=1000000", "--limits.max_concurrent_images=1000000"},
                     (dir / "core.log").string());
  std::string admin_key;
  for (int i = 0; i < 2000 && admin_key.empty(); ++i) {
    std::ifstream in(dir / "var" / "admin.key");
    in >> admin_key;
    if (admin_key.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  client_options o;
  o.port = static_cast<uint16_t>(port);
  o.api_key = admin_key;
  auto admin = client::connect(o);
  if (!admin) {
    std::fprintf(stderr, "bench: %s\n", admin.error().to_string().c_str());
    kill(core, SIGKILL);
    return 1;
  }
  auto requester = (*admin)->add_user("requester");
  auto owner = (*admin)->add_user("owner");
  if (auto g = (*admin)->grant("requester", 1'000'000'000, "bench"); !g)
    std::fprintf(stderr, "bench: grant: %s\n", g.error().to_string().c_str());
  std::vector<pid_t> worker_pids;
  std::vector<std::string> outs;
  for (int i = 0; i < workers; ++i) {
    outs.push_back((dir / ("dispatch-" + std::to_string(i) + ".txt")).string());
    worker_pids.push_back(
        spawn({argv[0], "--worker", core_addr, owner->second, "w" + std::to_string(i), outs.back()},
              (dir / ("worker-" + std::to_string(i) + ".log")).string()));
  }
  for (int i = 0; i < 3000; ++i) {
    auto ws = (*admin)->workers();
    if (ws && ws->size() >= static_cast<size_t>(workers))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  caf::actor_system_config cfg;
  configure_actor_system(cfg);
  v1::NetworkConfig net;
  net.set_heartbeat_ms(1000);
  net.set_connection_timeout_ms(5000);
  configure_network(cfg, net);
  cfg.set("logger.console", caf::atom("none"));
  cfg.set("scheduler.max-threads", 1);
  caf::actor_system sys{cfg};
  auto entrance = sys.middleman().remote_actor<entrance_actor>("127.0.0.1", static_cast<uint16_t>(port));
  client_session_actor session;
  // The session ends with the actor that logged in: a long-lived one is the peer.
  auto peer = sys.spawn([]() -> caf::behavior { return {[](int) {}}; });
  {
    caf::scoped_actor self{sys};
    self->request(*entrance, std::chrono::seconds(10), client_login_atom::value, requester->second,
                  caf::actor_cast<caf::actor>(peer))
        .receive([&](client_session_actor& s) { session = s; }, [](caf::error&) {});
  }

  if (!session) {
    std::fprintf(stderr, "bench: cannot log in\n");
    kill(core, SIGKILL);
    return 1;
  }
  run(sys, **admin, session, 0, std::min(jobs / 10, 2000), window);  // warm-up
  auto base = run(sys, **admin, session, 1, std::max(jobs / 20, 500), 1);
  double core_cpu_before = cpu_seconds(core);
  int64_t ours_start = now_us();
  auto ours = run(sys, **admin, session, 2, jobs, window);
  double ours_wall = static_cast<double>(now_us() - ours_start) / 1e6;
  double core_cpu = cpu_seconds(core) - core_cpu_before;
  // Dispatch latency at a load the cluster sustains (half of what it just managed).
  double paced_rate = ours.jobs_per_s / 2;
  int paced_jobs = std::max(1000, static_cast<int>(paced_rate * 2));
  {
    uint64_t before = images_done(**admin);
    std::atomic<bool> answered{false};
    auto pacer =
        sys.spawn(paced_submitter, session, paced_jobs, paced_rate, [&answered] { answered = true; });
    while (!answered)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    while (images_done(**admin) < before + static_cast<uint64_t>(paced_jobs))
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    caf::anon_send_exit(pacer, caf::exit_reason::user_shutdown);
  }

  for (auto pid : worker_pids)
    kill(pid, SIGTERM);
  for (auto pid : worker_pids)
    waitpid(pid, nullptr, 0);
  std::vector<double> latencies_ms;
  for (const auto& path : outs) {
    std::ifstream in(path);
    long id;
    int64_t us;
    while (in >> id >> us)
      if (id == 3)
        latencies_ms.push_back(static_cast<double>(us) / 1000.0);
  }
  double p50 = percentile(latencies_ms, 0.5);
  double p99 = percentile(latencies_ms, 0.99);
  caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
  kill(core, SIGTERM);
  waitpid(core, nullptr, 0);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  std::printf("cluster: 1 core process, %d worker processes (no-op generator), durable commits, loopback\n\n",
              workers);
  std::printf("%-40s %12s\n", "run", "jobs/s");
  std::printf("%-40s %12.0f\n", ("crowdiff, " + std::to_string(window) + " submissions in flight").c_str(),
              ours.jobs_per_s);
  std::printf("%-40s %12.0f\n", "baseline: one submission at a time", base.jobs_per_s);
  std::printf("%-40s %11.1fx\n\n", "ratio", ours.jobs_per_s / base.jobs_per_s);
  std::printf("core process CPU: %.0f%% of one core during the pipelined run\n",
              100.0 * core_cpu / ours_wall);
  std::printf(
      "submit -> worker receives the job at %.0f jobs/s (half the throughput): p50 %.3f ms, p99 %.3f ms "
      "(%zu jobs)\n",
      paced_rate, p50, p99, latencies_ms.size());
  std::printf("targets: >= 5000 jobs/s: %s; p99 dispatch < 5 ms: %s\n",
              ours.jobs_per_s >= 5000 ? "met" : "MISSED", p99 < 5 ? "met" : "MISSED");
  std::printf(
      "{\"bench\":\"cluster\",\"jobs_per_s\":%.0f,\"dispatch_p50_ms\":%.3f,\"dispatch_p99_ms\":%.3f,"
      "\"baseline_jobs_per_s\":%.0f}\n",
      ours.jobs_per_s, p50, p99, base.jobs_per_s);
  return 0;
}
