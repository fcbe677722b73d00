#pragma once

// A whole core (store, Ledger, Scheduler, Broker) in one process with fake workers, for actor tests.
// Waits are on messages (with generous timeouts as a safety net), never on the clock.

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <caf/all.hpp>

#include "actors/node/core_node.hpp"
#include "actors/worker/worker_actor.hpp"
#include "actors/worker/worker_state.hpp"
#include "common/log.hpp"
#include "config/node_config.hpp"
#include "fake_generator.hpp"
#include "persistence/store.hpp"
#include "protocol/actor_system_setup.hpp"
#include "protocol/interfaces.hpp"
#include "temp_dir.hpp"

namespace crowdiff::testing {

inline constexpr auto patience = std::chrono::seconds(30);

struct user_info {
  uint64_t id = 0;
  std::string key;
};

class core_fixture {
 public:
  core_fixture() {
    log::set_level(log::level::warning);  // keep test output short; the log test raises it
    config = config::with_defaults({});
    config.add_models("stable_diffusion");
    config.add_models("sdxl");
    start();
  }
  virtual ~core_fixture() { stop(); }

  void start() {
    auto s = persistence::store::open(persistence::store_options{dir.path(), true, 8 << 20, 256});
    BOOST_REQUIRE_MESSAGE(s.has_value(), s.to_status().to_string());
    store = std::move(*s);
    actor_config = std::make_unique<caf::actor_system_config>();
    configure_actor_system(*actor_config);
    actor_config->set("scheduler.max-threads", 2);
    actor_config->set("logger.console", caf::atom("none"));
    system = std::make_unique<caf::actor_system>(*actor_config);
    core = spawn_core(*system, *store, config, wall_ms, timing);
    self = std::make_unique<caf::scoped_actor>(*system);
  }

  /// Stops every actor and closes the store, as a crash-free shutdown would.
  void stop() {
    if (!system)
      return;
    for (auto& w : workers)
      caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    workers.clear();
    if (uplink)
      caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
    uplink = nullptr;
    stop_core(core);
    core = {};
    self.reset();
    system->await_all_actors_done();
    system.reset();
    actor_config.reset();
    store.reset();
  }

  void restart() {
    stop();
    start();
  }

  user_info add_user(const std::string& name, double kudos = 0) {
    user_info out;
    (*self)
        ->request(core.ledger, patience, user_add_atom::value, name)
        .receive(
            [&](pb<v1::UserRecord>& user, std::string& key) {
              out = {user.value.id(), key};
            },
            [&](caf::error& e) { BOOST_FAIL("user_add: " + to_string(e)); });
    if (kudos > 0)
      grant(out.id, kudos);
    return out;
  }

  void grant(uint64_t user, double kudos) {
    (*self)
        ->request(core.ledger, patience, grant_atom::value, user, static_cast<int64_t>(kudos * 1000),
                  "test:" + uuid::random().to_string())
        .receive([](pb<v1::LedgerEntry>&) {}, [&](caf::error& e) { BOOST_FAIL("grant: " + to_string(e)); });
  }

  int64_t balance_mk(const std::string& key) {
    int64_t out = 0;
    (*self)
        ->request(core.ledger, patience, balance_atom::value, key)
        .receive([&](pb<v1::Balance>& b) { out = b.value.balance_mk(); },
                 [&](caf::error& e) { BOOST_FAIL("balance: " + to_string(e)); });
    return out;
  }

  v1::LedgerAudit audit() {
    v1::LedgerAudit out;
    (*self)
        ->request(core.ledger, patience, audit_atom::value)
        .receive([&](pb<v1::LedgerAudit>& a) { out = a.value; },
                 [&](caf::error& e) { BOOST_FAIL(to_string(e)); });
    return out;
  }

  /// Spawns a worker and waits until the scheduler lists it. One slot by default, so queue positions in tests
  /// are simple; real workers prefetch (two slots).
  worker_impl_actor add_worker(const std::string& name, uint64_t owner, std::shared_ptr<fake_generator> gen,
                               uint32_t slots = 1) {
    worker_options o;
    o.slots = slots;
    if (!uplink)
      uplink = system->spawn(local_uplink_fn, core.scheduler);
    o.uplink = uplink;
    o.gen = gen;
    o.name = name;
    o.owner_user_id = owner;
    o.mps_per_s = *gen->benchmark();
    auto w = system->spawn(worker_fn, std::move(o));
    workers.push_back(w);
    BOOST_REQUIRE_MESSAGE(wait_for_workers([&](const worker_summaries& ws) {
                            for (const auto& s : ws)
                              if (s.name == name)
                                return true;
                            return false;
                          }),
                          "worker " + name + " never joined");
    return w;
  }

  /// Asks the scheduler until `pred` holds for its worker list (bounded).
  template <class Pred>
  bool wait_for_workers(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < deadline) {
      bool ok = false;
      (*self)
          ->request(core.scheduler, patience, workers_atom::value)
          .receive([&](worker_summaries& ws) { ok = pred(ws); }, [&](caf::error&) {});
      if (ok)
        return true;
      std::this_thread::yield();
    }
    return false;
  }

  v1::JobRequest request(uint32_t n = 1, uint32_t steps = 4) {
    v1::JobRequest r;
    r.set_prompt("a lighthouse at dusk");
    r.set_steps(steps);
    r.set_width(512);
    r.set_height(512);
    r.set_n(n);
    r.set_cfg_scale(7);
    r.set_sampler(v1::K_EULER);
    return r;
  }

  /// Submits; returns the reply or the error.
  std::pair<v1::SubmitReply, caf::error> submit(const std::string& key, const v1::JobRequest& r) {
    std::pair<v1::SubmitReply, caf::error> out;
    (*self)
        ->request(core.broker, patience, submit_atom::value, key, pb<v1::JobRequest>{r})
        .receive([&](pb<v1::SubmitReply>& reply) { out.first = reply.value; },
                 [&](caf::error& e) { out.second = e; });
    return out;
  }

  uuid submit_ok(const std::string& key, const v1::JobRequest& r) {
    auto [reply, err] = submit(key, r);
    BOOST_REQUIRE_MESSAGE(!err, "submit: " + to_string(err));
    return *uuid::from_bytes(reply.job_id());
  }

  v1::JobStatus status_of(const uuid& job) {
    v1::JobStatus out;
    (*self)
        ->request(core.broker, patience, status_atom::value, job)
        .receive([&](pb<v1::JobStatus>& s) { out = s.value; },
                 [&](caf::error& e) { BOOST_FAIL(to_string(e)); });
    return out;
  }

  /// Subscribes to every job and waits until all have ended; returns their final statuses.
  std::vector<v1::JobStatus> wait_all(const std::vector<uuid>& jobs) {
    std::map<std::string, v1::JobStatus> done;
    for (const auto& j : jobs) {
      (*self)
          ->request(core.broker, patience, subscribe_atom::value, j, caf::actor_cast<caf::actor>(*self))
          .receive(
              [&](pb<v1::JobStatus>& s) {
                if (terminal(s.value.state()))
                  done[j.to_bytes()] = s.value;
              },
              [&](caf::error& e) { BOOST_FAIL("subscribe: " + to_string(e)); });
    }
    while (done.size() < jobs.size()) {
      bool timed_out = false;
      (*self)->receive(
          [&](event_atom, pb<v1::JobEvent>& ev) {
            if (ev.value.kind() == v1::JobEvent::STATE && terminal(ev.value.status().state()))
              done[ev.value.status().job_id()] = ev.value.status();
          },
          [&](image_atom, pb<v1::GenerationResult>&) {}, caf::after(patience) >> [&] { timed_out = true; });
      if (timed_out) {
        BOOST_FAIL("jobs did not finish: " + std::to_string(done.size()) + " of " +
                   std::to_string(jobs.size()));
      }
    }
    std::vector<v1::JobStatus> out;
    for (const auto& j : jobs)
      out.push_back(done[j.to_bytes()]);
    return out;
  }

  static bool terminal(v1::JobState s) { return s == v1::DONE || s == v1::FAILED || s == v1::CANCELLED; }

  temp_dir dir;
  v1::NodeConfig config;
  core_timing timing{std::chrono::milliseconds(20), std::chrono::milliseconds(200), std::chrono::seconds(60)};
  std::unique_ptr<persistence::store> store;
  std::unique_ptr<caf::actor_system_config> actor_config;
  std::unique_ptr<caf::actor_system> system;
  core_handles core;
  std::unique_ptr<caf::scoped_actor> self;
  std::vector<worker_impl_actor> workers;
  uplink_actor uplink;
};

}  // namespace crowdiff::testing
