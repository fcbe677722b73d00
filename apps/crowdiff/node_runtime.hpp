#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/node/core_node.hpp"
#include "apps/crowdiff/command_line.hpp"
#include "crowdiff/v1/config.pb.h"
#include "persistence/store.hpp"

namespace crowdiff::app {

/// The effective configuration: the file given by --config (if any), then overrides, then defaults;
/// validated. --store DIR and --log-level LEVEL are shorthands for store.directory and log_level.
result<v1::NodeConfig> effective_config(const command_line& cli);

/// A running core: its store, actor system and actors.
class core_runtime {
 public:
  /// Opens the store (creating its directory, not its parents) and starts the core's actors.
  static result<std::unique_ptr<core_runtime>> start(const v1::NodeConfig& config);
  ~core_runtime();

  caf::actor_system& system() { return *system_; }
  const core_handles& core() const { return core_; }
  persistence::store& store() { return *store_; }

 private:
  core_runtime() = default;

  std::unique_ptr<persistence::store> store_;
  std::unique_ptr<caf::actor_system_config> actor_config_;
  std::unique_ptr<caf::actor_system> system_;
  core_handles core_;
};

/// Blocks until SIGINT or SIGTERM arrives; returns the signal.
int wait_for_shutdown_signal();

}  // namespace crowdiff::app
