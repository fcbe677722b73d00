#include <cstdio>

#include "apps/crowdiff/commands.hpp"
#include "apps/crowdiff/node_runtime.hpp"
#include "config/node_config.hpp"

namespace crowdiff::app {

int cmd_config(const command_line& cli) {
  auto config = effective_config(cli);
  if (!config) {
    std::fprintf(stderr, "crowdiff config: %s\n", config.error().to_string().c_str());
    return 2;
  }
  if (cli.has("print") || cli.flags.empty() || (cli.flags.size() == 1 && cli.has("config"))) {
    std::fputs(config::to_text(*config).c_str(), stdout);
  }
  return 0;
}

}  // namespace crowdiff::app
