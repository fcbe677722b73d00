#pragma once

#include "actors/detail/pending_writes.hpp"
#include "actors/ledger/ledger_actor.hpp"

namespace crowdiff {

struct ledger_state {
  ledger_options options;
  detail::pending_writes writes;
  static inline const char* name = "crowdiff.ledger";
};

}  // namespace crowdiff
