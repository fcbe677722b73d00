#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "crowdiff/v1/quarantine.pb.h"
#include "persistence/bad_record.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// Table `quarantine` (id -> QuarantineRecord): stored entries that could not be read, moved aside so that
/// recovery goes on without them, and kept byte for byte until an operator drops them (`crowdiff store
/// quarantine`). Ids count up from 1 (meta `next.quarantine_id`) and are never reused. Times are arguments:
/// nothing here reads a clock.
class quarantine_table {
 public:
  /// Moves `bad` aside within `txn`: stores a QuarantineRecord stamped `now_ms`, then erases `bad.key` from
  /// `bad.source`, its index entries, and what is keyed by the same id elsewhere (a job's `webhooks_owed`
  /// entry). Returns the new id; nullopt, with nothing written, when the source no longer holds `bad.bytes`
  /// (moved aside before, or rewritten since the scan). invalid_argument for an entry of `quarantine` itself.
  static result<std::optional<uint64_t>> move_aside(write_txn& txn, const bad_record& bad, int64_t now_ms);

  /// move_aside for each of `bad`, in order; the ids (or nullopt) in the same order. On an error the caller
  /// aborts `txn`, so either all of them move or none.
  static result<std::vector<std::optional<uint64_t>>> move_aside(write_txn& txn,
                                                                 const std::vector<bad_record>& bad,
                                                                 int64_t now_ms);

  /// Stores `record` under a new id, which it also sets in `record`.
  static result<uint64_t> put(write_txn& txn, v1::QuarantineRecord& record);

  /// The entry, or nullopt when there is none.
  static result<std::optional<v1::QuarantineRecord>> get(read_txn& txn, uint64_t id);

  /// Visits the entries in id order until `fn` returns false; an entry that does not decode goes to `on_bad`.
  static status scan(read_txn& txn, const std::function<bool(v1::QuarantineRecord&)>& fn,
                     const bad_record_fn& on_bad = {});

  /// Drops entry `id`; false when there is none.
  static result<bool> erase(write_txn& txn, uint64_t id);

  /// Drops every entry, readable or not; returns how many.
  static result<uint64_t> erase_all(write_txn& txn);
};

/// Logs what moving `bad` aside did, one line per record with its table, key (hex), size and error: event
/// `record_quarantined` with its quarantine id when `outcome` is ok (records that were no longer there are
/// left out), `quarantine_failed` with the error when it is not. `scan` names who found them ("recovery").
void log_moved_aside(std::string_view scan, const std::vector<bad_record>& bad,
                     const std::vector<std::optional<uint64_t>>& ids, const status& outcome);

}  // namespace crowdiff::persistence
