#include <caf/all.hpp>

#include <cstdio>

#include "apps/crowdiff/commands.hpp"
#include "apps/crowdiff/node_runtime.hpp"
#include "common/log.hpp"

namespace crowdiff::app {

int cmd_up(const command_line& cli) {
  auto config = effective_config(cli);
  if (!config) {
    std::fprintf(stderr, "crowdiff up: %s\n", config.error().to_string().c_str());
    return 2;
  }
  log::level lvl;
  log::parse_level(config->log_level(), lvl);
  log::set_level(lvl);
  auto rt = core_runtime::start(*config);
  if (!rt) {
    std::fprintf(stderr, "crowdiff up: %s\n", rt.error().to_string().c_str());
    return 1;
  }
  log::info("node_ready")
      .kv("role", "up")
      .kv("store", config->store().directory())
      .kv("local_worker", "none: this build has no diffusion pipeline yet");
  std::fprintf(stderr, "crowdiff is up (store %s). Press Ctrl-C to stop.\n", config->store().directory().c_str());
  int sig = wait_for_shutdown_signal();
  log::info("node_stopping").kv("signal", sig);
  rt->reset();
  return 0;
}

}  // namespace crowdiff::app
