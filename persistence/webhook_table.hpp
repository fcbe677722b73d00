#pragma once

#include <functional>

#include "common/status.hpp"
#include "common/uuid.hpp"
#include "persistence/bad_record.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// Table `webhooks_owed`: the jobs whose webhook has not yet had its `done` delivered (or given up on), so a
/// core that restarts POSTs the `done` that its previous process held in memory. The URL is the job's own
/// (JobRecord.request.webhook); erasing a job erases its entry here.
class webhook_table {
 public:
  /// Records that `job`'s webhook is owed its `done`. Idempotent.
  static status owe(write_txn& txn, const uuid& job);

  /// Records that `job`'s `done` was delivered or given up on. Idempotent.
  static status settle(write_txn& txn, const uuid& job);

  /// Whether `job` is owed its `done`.
  static result<bool> owed(read_txn& txn, const uuid& job);

  /// Visits the jobs owed a `done`, in id order, until `fn` returns false. A key that is not a job id goes to
  /// `on_bad`.
  static status scan(read_txn& txn, const std::function<bool(const uuid&)>& fn,
                     const bad_record_fn& on_bad = {});
};

}  // namespace crowdiff::persistence
