#include <cstdio>

#include <caf/all.hpp>

#include "actors/worker/worker_actor.hpp"
#include "actors/worker/worker_state.hpp"
#include "apps/crowdiff/commands.hpp"
#include "apps/crowdiff/local_generators.hpp"
#include "apps/crowdiff/node_runtime.hpp"
#include "common/log.hpp"

namespace crowdiff::app {

int cmd_core(const command_line& cli) {
  auto config = effective_config(cli);
  if (!config) {
    std::fprintf(stderr, "crowdiff core: %s\n", config.error().to_string().c_str());
    return 2;
  }
  apply_log_level(*config);
  auto rt = core_runtime::start(*config);
  if (!rt) {
    std::fprintf(stderr, "crowdiff core: %s\n", rt.error().to_string().c_str());
    return 1;
  }
  log::info("node_ready")
      .kv("role", "core")
      .kv("store", config->store().directory())
      .kv("port", (*rt)->port());
  std::fprintf(stderr, "crowdiff core is listening on port %u (store %s)\n", (*rt)->port(),
               config->store().directory().c_str());
  int sig = wait_for_shutdown_signal();
  log::info("node_stopping").kv("signal", sig);
  rt->reset();
  return 0;
}

int cmd_up(const command_line& cli) {
  auto config = effective_config(cli);
  if (!config) {
    std::fprintf(stderr, "crowdiff up: %s\n", config.error().to_string().c_str());
    return 2;
  }
  apply_log_level(*config);
  auto generators = local_generators(cli, *config);
  if (!generators) {
    std::fprintf(stderr, "crowdiff up: %s\n", generators.error().to_string().c_str());
    return 2;
  }
  auto rt = core_runtime::start(*config);
  if (!rt) {
    std::fprintf(stderr, "crowdiff up: %s\n", rt.error().to_string().c_str());
    return 1;
  }
  auto& sys = (*rt)->system();
  auto uplink = sys.spawn(local_uplink_fn, (*rt)->core().scheduler);
  std::vector<worker_impl_actor> workers;
  for (auto& g : *generators) {
    auto speed = g.gen->benchmark();
    if (!speed) {
      std::fprintf(stderr, "crowdiff up: benchmarking %s: %s\n", g.name.c_str(),
                   speed.error().to_string().c_str());
      return 1;
    }
    worker_options o;
    o.uplink = uplink;
    o.gen = g.gen;
    o.name = g.name;
    o.owner_user_id = local_owner((*rt)->store());
    o.nsfw = config->worker().nsfw();
    o.mps_per_s = *speed;
    workers.push_back(sys.spawn(worker_fn, std::move(o)));
  }
  log::info("node_ready")
      .kv("role", "up")
      .kv("store", config->store().directory())
      .kv("port", (*rt)->port())
      .kv("http_port", (*rt)->http_port())
      .kv("local_workers", workers.size());
  std::fprintf(stderr,
               "crowdiff is up: http://127.0.0.1:%u/ (the web page and the AI Horde API), nodes on port %u, "
               "store %s, %zu local worker(s). Ctrl-C stops it.\n",
               (*rt)->http_port(), (*rt)->port(), config->store().directory().c_str(), workers.size());
  int sig = wait_for_shutdown_signal();
  log::info("node_stopping").kv("signal", sig);
  for (auto& w : workers)
    caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
  rt->reset();
  return 0;
}

}  // namespace crowdiff::app
