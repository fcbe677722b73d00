#pragma once

#include "persistence/store.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

/// Spawn arguments of the entrance.
struct entrance_options {
  persistence::store* store = nullptr;
  broker_actor broker;
  scheduler_actor scheduler;
  ledger_actor ledger;
};

/// The Entrance: the only actor a core publishes. A login checks the API key and returns a session actor
/// bound to that user and to the caller's actor; wrong keys get `unauthenticated`. See client_session and
/// worker_session for what sessions check.
entrance_actor::behavior_type entrance_fn(entrance_actor::pointer self, entrance_options options);

}  // namespace crowdiff
