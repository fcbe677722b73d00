#include <iostream>

#include "apps/crowdiff/commands.hpp"
#include "apps/crowdiff/node_runtime.hpp"
#include "apps/crowdiff/store_command.hpp"

namespace crowdiff::app {

int cmd_store(const command_line& cli) {
  auto config = effective_config(cli);
  if (!config) {
    std::cerr << "crowdiff store: " << config.error().to_string() << "\n";
    return 2;
  }
  return run_store_command(cli, config->store().directory(), std::cout, std::cerr);
}

}  // namespace crowdiff::app
