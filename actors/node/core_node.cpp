#include "actors/node/core_node.hpp"

#include <caf/all.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/broker/broker_actor.hpp"
#include "actors/broker/broker_state.hpp"
#include "actors/ledger/ledger_actor.hpp"
#include "actors/ledger/ledger_state.hpp"
#include "actors/scheduler/scheduler_actor.hpp"
#include "actors/scheduler/scheduler_state.hpp"

namespace crowdiff {

core_handles spawn_core(caf::actor_system& system, persistence::store& store, const v1::NodeConfig& config,
                        clock_fn now, core_timing timing) {
  core_handles core;
  core.ledger = system.spawn(ledger_fn, ledger_options{&store, config.ledger(), now});

  scheduler_options sched;
  sched.store = &store;
  sched.ledger = core.ledger;
  const auto& sc = config.scheduler();
  sched.allocation.ageing_per_s = sc.ageing_per_10_s() / 10.0;
  sched.allocation.max_attempts = sc.max_attempts();
  sched.allocation.backup_after_factor = sc.backup_after_factor();
  sched.allocation.backup_min_ms = sc.backup_min_ms();
  sched.allocation.default_model_load_ms = sc.default_model_load_ms();
  sched.allocation.unservable_timeout_ms = static_cast<int64_t>(sc.unservable_timeout_s()) * 1000;
  sched.tick_interval = timing.scheduler_tick;
  sched.uptime_interval = timing.uptime_interval;
  sched.uptime.work_window_ms = int64_t{config.ledger().uptime_work_window_s()} * 1000;
  sched.uptime.max_workers_per_owner = config.ledger().uptime_max_workers_per_owner();
  sched.now = now;
  sched.max_catalog_models = config.limits().max_catalog_models();
  core.scheduler = system.spawn(scheduler_fn, std::move(sched));

  broker_options broker;
  broker.store = &store;
  broker.scheduler = core.scheduler;
  broker.config = config;
  broker.sweep_interval = timing.sweep_interval;
  broker.now = now;
  core.broker = system.spawn(broker_fn, std::move(broker));
  return core;
}

void stop_core(const core_handles& core) {
  caf::anon_send_exit(core.broker, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(core.scheduler, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(core.ledger, caf::exit_reason::user_shutdown);
}

}  // namespace crowdiff
