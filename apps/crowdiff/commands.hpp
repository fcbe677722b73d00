#pragma once

#include "apps/crowdiff/command_line.hpp"

namespace crowdiff::app {

/// `crowdiff up`: the core (Broker, Scheduler, Ledger, store) and a local worker in one process.
int cmd_up(const command_line& cli);

/// `crowdiff config --print`: the effective configuration in Protobuf text format.
int cmd_config(const command_line& cli);

}  // namespace crowdiff::app
