#include "apps/crowdiff/node_runtime.hpp"

#include <caf/all.hpp>

#include <csignal>

#include "actors/node/setup.hpp"
#include "common/log.hpp"
#include "config/node_config.hpp"

namespace crowdiff::app {

result<v1::NodeConfig> effective_config(const command_line& cli) {
  v1::NodeConfig config;
  if (auto file = cli.get("config")) {
    auto loaded = config::load_file(*file);
    if (!loaded) return loaded.error();
    config = std::move(*loaded);
  }
  std::vector<std::string> overrides = cli.overrides;
  if (auto dir = cli.get("store")) overrides.push_back("store.directory=" + *dir);
  if (auto level = cli.get("log-level")) overrides.push_back("log_level=" + *level);
  if (auto s = config::apply_overrides(config, overrides); !s) return s;
  config = config::with_defaults(std::move(config));
  if (auto s = config::validate(config); !s) return s;
  return config;
}

result<std::unique_ptr<core_runtime>> core_runtime::start(const v1::NodeConfig& config) {
  std::unique_ptr<core_runtime> rt{new core_runtime()};
  persistence::store_options options;
  options.directory = config.store().directory();
  options.create_if_missing = true;
  options.initial_map_bytes = config.store().initial_map_mb() << 20;
  options.max_batch = config.store().max_batch();
  auto s = persistence::store::open(options);
  if (!s) return s.error();
  rt->store_ = std::move(*s);
  rt->actor_config_ = std::make_unique<caf::actor_system_config>();
  configure_actor_system(*rt->actor_config_);
  rt->actor_config_->set("logger.console", caf::atom("none"));
  rt->system_ = std::make_unique<caf::actor_system>(*rt->actor_config_);
  rt->core_ = spawn_core(*rt->system_, *rt->store_, config);
  return rt;
}

core_runtime::~core_runtime() {
  if (!system_) return;
  stop_core(core_);
  system_->await_all_actors_done();
  system_.reset();
  store_.reset();
}

int wait_for_shutdown_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace crowdiff::app
