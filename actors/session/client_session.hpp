#pragma once

#include <string>

#include "actors/detail/authenticate.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

struct client_session_state;

/// Spawn arguments of a client session.
struct client_session_options {
  detail::principal user;
  std::string api_key;
  bool admin = false;
  caf::actor peer;  ///< the client's actor: the session ends with it (or with its node's connection)
  broker_actor broker;
  scheduler_actor scheduler;
  ledger_actor ledger;
};

/// One logged-in client: forwards its requests to the broker, ledger and scheduler with its identity
/// attached, so a client never holds (or names) an internal actor. user_add needs an admin.
client_session_actor::behavior_type client_session_fn(
    client_session_actor::stateful_pointer<client_session_state> self, client_session_options options);

struct client_session_state {
  client_session_options options;
  static inline const char* name = "crowdiff.client_session";
};

}  // namespace crowdiff
