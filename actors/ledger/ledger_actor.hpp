#pragma once

#include "common/clock.hpp"
#include "crowdiff/v1/config.pb.h"
#include "persistence/store.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

struct ledger_state;

/// Spawn arguments of the ledger.
struct ledger_options {
  persistence::store* store = nullptr;
  v1::LedgerConfig config;  ///< with defaults applied
  clock_fn now = wall_ms;
};

/// The Ledger: quotes jobs, answers balances, moves kudos (transfers, operator grants, uptime rewards) and
/// creates users. Every movement is a double-entry journal entry committed through the store; a job's charge
/// and credit are written by the broker together with the job's state change (ledger_book::settle_image).
ledger_actor::behavior_type ledger_fn(ledger_actor::stateful_pointer<ledger_state> self,
                                      ledger_options options);

}  // namespace crowdiff
