#pragma once

#include <caf/actor_system_config.hpp>

namespace crowdiff {

/// Registers crowdiff's message types, typed handles and error category with an actor system config.
/// Call once per config, before creating the actor system.
void configure_actor_system(caf::actor_system_config& cfg);

}  // namespace crowdiff
