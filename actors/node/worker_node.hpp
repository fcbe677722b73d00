#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/worker/generator.hpp"
#include "common/status.hpp"
#include "crowdiff/v1/config.pb.h"
#include "network/network_setup.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

/// A generator and the name its worker joins under.
struct named_generator {
  std::string name;
  std::shared_ptr<generator> gen;
};

/// A worker node: one Worker actor per generator (one per GPU, or one CPU worker), all connected out to a
/// remote core through one uplink with the node's API key. Workers reconnect by themselves.
class worker_node {
 public:
  /// Measures each generator once (its self-benchmark), then starts the workers. Errors: invalid_argument for
  /// a bad `worker.core`; the benchmark's error.
  static result<std::unique_ptr<worker_node>> start(const v1::NodeConfig& config, const std::string& api_key,
                                                    std::vector<named_generator> generators);
  ~worker_node();

  /// Blocks until every worker has stopped (a refused key, or `stop()`); returns the first worker's exit
  /// error, if any.
  status wait();
  /// Asks every worker to drain: finish its image, leave, stop.
  void stop();

 private:
  worker_node() = default;

  core_route
      route_;  // where CAF connects: the core, or a TLS tunnel to it (declared first: it outlives the system)
  std::unique_ptr<caf::actor_system_config> actor_config_;
  std::unique_ptr<caf::actor_system> system_;
  uplink_actor uplink_;
  std::vector<worker_impl_actor> workers_;
};

}  // namespace crowdiff
