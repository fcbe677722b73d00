#pragma once

#include <vector>

#include "actors/node/worker_node.hpp"
#include "apps/crowdiff/command_line.hpp"
#include "crowdiff/v1/config.pb.h"
#include "persistence/store.hpp"

namespace crowdiff::app {

/// The generators this machine runs, from --model PATH (repeatable): one per GPU found, or one CPU
/// generator. Empty when no model is given. unsupported while this build has no pipeline backend for them.
result<std::vector<named_generator>> local_generators(const command_line& cli, const v1::NodeConfig& config);

/// The user a worker inside the core's process runs for: the admin (the node's operator).
uint64_t local_owner(persistence::store& store);

}  // namespace crowdiff::app
