#pragma once

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/io/middleman_actor.hpp>

#include "protocol/interfaces.hpp"

namespace crowdiff {

struct remote_uplink_state;

/// Spawn arguments of a worker node's uplink.
struct remote_uplink_options {
  caf::io::middleman_actor connector;  ///< plain or TLS (network_setup.hpp)
  std::string host;
  uint16_t port = 0;
  std::string api_key;
  std::chrono::milliseconds max_backoff{10'000};
};

/// The uplink of a worker on a worker node: connects out to the core (so workers behind NAT can join), logs
/// each worker in with the node's API key and hands it its session. Lost connections are re-established with
/// exponential backoff (from 100 ms up to `max_backoff`); a refused key is reported, not retried.
using remote_uplink_actor = uplink_actor::extend<caf::reacts_to<tick_atom>>;

remote_uplink_actor::behavior_type remote_uplink_fn(
    remote_uplink_actor::stateful_pointer<remote_uplink_state> self, remote_uplink_options options);

/// Spawns a remote uplink in `system`.
uplink_actor spawn_remote_uplink(caf::actor_system& system, remote_uplink_options options);

}  // namespace crowdiff
