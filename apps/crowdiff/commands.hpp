#pragma once

#include <string>
#include <vector>

#include "actors/node/worker_node.hpp"
#include "apps/crowdiff/command_line.hpp"

namespace crowdiff::app {

int cmd_up(const command_line& cli);        ///< the core and a local worker in one process
int cmd_core(const command_line& cli);      ///< Broker, Scheduler, Ledger and the store, listening on a port
int cmd_worker(const command_line& cli);    ///< workers that join a remote core
int cmd_config(const command_line& cli);    ///< `config --print`: the effective configuration
int cmd_submit(const command_line& cli);    ///< submit a prompt, show progress, save the images
int cmd_status(const command_line& cli);    ///< a job's status
int cmd_cancel(const command_line& cli);    ///< cancel a job
int cmd_users(const command_line& cli);     ///< `users add NAME` (admin)
int cmd_kudos(const command_line& cli);     ///< `kudos balance`, `kudos transfer USER AMOUNT`
int cmd_workers(const command_line& cli);   ///< the live workers as a table
int cmd_generate(const command_line& cli);  ///< images from a prompt on this machine, no core needed
int cmd_store(const command_line& cli);     ///< `store quarantine list|drop` on a store no core holds

/// Runs a worker node until its workers stop (a signal drains them); the process's exit code.
int run_worker_node(const v1::NodeConfig& config, const std::string& api_key,
                    std::vector<named_generator> generators);

}  // namespace crowdiff::app
