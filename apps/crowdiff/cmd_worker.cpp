#include <cstdio>
#include <thread>

#include "apps/crowdiff/client_connection.hpp"
#include "apps/crowdiff/commands.hpp"
#include "apps/crowdiff/local_generators.hpp"
#include "apps/crowdiff/node_runtime.hpp"
#include "common/log.hpp"

namespace crowdiff::app {

int cmd_worker(const command_line& cli) {
  auto config = effective_config(cli);
  if (!config) {
    std::fprintf(stderr, "crowdiff worker: %s\n", config.error().to_string().c_str());
    return 2;
  }
  apply_log_level(*config);
  if (config->worker().core().empty()) {
    std::fprintf(stderr, "crowdiff worker: say which core to join: --core HOST:PORT\n");
    return 2;
  }
  auto key = api_key_from(cli);
  auto generators = local_generators(cli, *config);
  if (!generators) {
    std::fprintf(stderr, "crowdiff worker: %s\n", generators.error().to_string().c_str());
    return 2;
  }
  if (generators->empty()) {
    std::fprintf(stderr, "crowdiff worker: nothing to run: give a model with --model PATH\n");
    return 2;
  }
  return run_worker_node(*config, key, std::move(*generators));
}

int run_worker_node(const v1::NodeConfig& config, const std::string& api_key,
                    std::vector<named_generator> generators) {
  auto node = worker_node::start(config, api_key, std::move(generators));
  if (!node) {
    std::fprintf(stderr, "crowdiff worker: %s\n", node.error().to_string().c_str());
    return 1;
  }
  log::info("node_ready").kv("role", "worker").kv("core", config.worker().core());
  // A signal drains the workers; the node ends when they have all left.
  std::thread signals([&node] {
    wait_for_shutdown_signal();
    (*node)->stop();
  });
  signals.detach();
  auto outcome = (*node)->wait();
  if (!outcome) {
    std::fprintf(stderr, "crowdiff worker: %s\n", outcome.to_string().c_str());
    return 1;
  }
  return 0;
}

}  // namespace crowdiff::app
