#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/node/core_node.hpp"
#include "apps/crowdiff/command_line.hpp"
#include "crowdiff/v1/config.pb.h"
#include "gateway/gateway.hpp"
#include "network/node_port_guard.hpp"
#include "persistence/store.hpp"

namespace crowdiff::app {

/// The effective configuration: the file given by --config (if any), then overrides, then defaults;
/// validated. Shorthands: --store DIR (store.directory), --log-level LEVEL, --port N (network.port),
/// --core HOST:PORT (worker.core), --name NAME (worker.name), --tls, --ca-file FILE.
result<v1::NodeConfig> effective_config(const command_line& cli);

/// Sets the log level from the configuration.
void apply_log_level(const v1::NodeConfig& config);

/// A running core: its store, actor system, actors, and the entrance published on its port.
class core_runtime {
 public:
  /// Opens the store (creating its directory, not its parents), creates the admin user on first start
  /// (its key goes to <store>/admin.key, readable by the owner only), starts the core's actors and listens.
  static result<std::unique_ptr<core_runtime>> start(const v1::NodeConfig& config, bool http = true);
  ~core_runtime();

  caf::actor_system& system() { return *system_; }
  const core_handles& core() const { return core_; }
  persistence::store& store() { return *store_; }
  uint16_t port() const { return port_; }
  /// The HTTP gateway's port; 0 when it is off (gateway.http_port 0 is not allowed: use --no-http).
  uint16_t http_port() const;

 private:
  core_runtime() = default;

  std::unique_ptr<persistence::store> store_;
  std::unique_ptr<caf::actor_system_config> actor_config_;
  std::unique_ptr<caf::actor_system> system_;
  core_handles core_;
  entrance_actor entrance_;
  uint16_t port_ = 0;
  std::unique_ptr<gateway::http_gateway> gateway_;
  std::unique_ptr<node_port_guard> node_guard_;
};

/// Blocks until SIGINT or SIGTERM arrives; returns the signal.
int wait_for_shutdown_signal();

}  // namespace crowdiff::app
