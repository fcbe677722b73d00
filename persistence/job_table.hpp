#pragma once

#include <functional>
#include <optional>

#include "common/status.hpp"
#include "common/uuid.hpp"
#include "crowdiff/v1/job.pb.h"
#include "persistence/bad_record.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// Table `jobs` (job id -> JobRecord) and its index `jobs_by_state`. Active jobs (QUEUED, RUNNING) are
/// indexed by state, descending base priority, then submission order; finished ones by state, finish time,
/// then submission order, so recovery and retention are range scans.
class job_table {
 public:
  /// The job, or nullopt when there is none.
  static result<std::optional<v1::JobRecord>> get(read_txn& txn, const uuid& id);

  /// Writes `job` (its id must be 16 bytes) and moves its index entry to match its state.
  static status put(write_txn& txn, const v1::JobRecord& job);

  /// Removes the job and its index entry; ok when absent.
  static status erase(write_txn& txn, const uuid& id);

  /// The job a user submitted under an idempotency key, or nullopt (also when that job no longer exists).
  static result<std::optional<uuid>> find_by_client_key(read_txn& txn, uint64_t user, std::string_view key);

  /// Remembers that `user`'s submission with `key` is job `id`.
  static status put_client_key(write_txn& txn, uint64_t user, std::string_view key, const uuid& id);

  /// Visits the jobs in `state` in index order until `fn` returns false. A job that does not decode (reported
  /// with its `jobs_by_state` entry) or an index entry with no job behind it goes to `on_bad` (see
  /// bad_record_fn).
  static status scan_state(read_txn& txn, v1::JobState state, const std::function<bool(v1::JobRecord&)>& fn,
                           const bad_record_fn& on_bad = {});

  /// Visits finished jobs (DONE, FAILED, CANCELLED) that finished before `before_ms`; bad entries as
  /// scan_state.
  static status scan_finished_before(read_txn& txn, int64_t before_ms,
                                     const std::function<bool(v1::JobRecord&)>& fn,
                                     const bad_record_fn& on_bad = {});
};

}  // namespace crowdiff::persistence
