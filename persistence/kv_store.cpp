#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

std::string_view table_name(table t) {
  switch (t) {
    case table::meta:
      return "meta";
    case table::jobs:
      return "jobs";
    case table::jobs_by_state:
      return "jobs_by_state";
    case table::results:
      return "results";
    case table::results_by_expiry:
      return "results_by_expiry";
    case table::users:
      return "users";
    case table::users_by_key:
      return "users_by_key";
    case table::users_by_name:
      return "users_by_name";
    case table::workers:
      return "workers";
    case table::workers_by_name:
      return "workers_by_name";
    case table::journal:
      return "journal";
    case table::journal_by_cause:
      return "journal_by_cause";
    case table::balances:
      return "balances";
    case table::jobs_by_client_key:
      return "jobs_by_client_key";
    case table::webhooks_owed:
      return "webhooks_owed";
    case table::quarantine:
      return "quarantine";
    case table::workers_by_bare_name:
      return "workers_by_bare_name";
    case table::balances_by_amount:
      return "balances_by_amount";
  }
  return "unknown";
}

status read_txn::scan_prefix(table t, std::string_view prefix, const scan_fn& fn) {
  return scan(t, prefix, [&](std::string_view key, std::string_view value) {
    if (key.substr(0, prefix.size()) != prefix)
      return false;
    return fn(key, value);
  });
}

}  // namespace crowdiff::persistence
