#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "crowdiff/v1/worker.pb.h"
#include "persistence/bad_record.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// Table `workers` (id -> WorkerRecord, lifetime statistics) and indexes `workers_by_name`
/// ((owner, name) -> id: a worker that reconnects under the same name and owner is the same worker) and
/// `workers_by_bare_name` ((name, id) -> empty: lookups by name alone, which several owners may share).
class worker_table {
 public:
  /// Finds the worker by (owner, name) or creates it; stores the registration, marks it online.
  static result<v1::WorkerRecord> upsert(write_txn& txn, const v1::WorkerRegistration& registration,
                                         int64_t now_ms);

  static result<std::optional<v1::WorkerRecord>> get(read_txn& txn, uint64_t id);
  static result<std::optional<v1::WorkerRecord>> find(read_txn& txn, uint64_t owner, std::string_view name);

  /// Overwrites the record with id `record.id()`.
  static status put(write_txn& txn, const v1::WorkerRecord& record);

  /// The ids of the workers called `name`, whoever owns them, in id order (an index read, never a scan).
  static result<std::vector<uint64_t>> ids_named(read_txn& txn, std::string_view name);

  /// The ids of `owner`'s workers (an index read).
  static result<std::vector<uint64_t>> ids_of_owner(read_txn& txn, uint64_t owner);

  /// Writes the `workers_by_bare_name` entry of every worker (the migration to schema 2).
  static status index_bare_names(write_txn& txn);

  /// Visits every worker in id order until `fn` returns false; undecodable records go to `on_bad`.
  static status scan(read_txn& txn, const std::function<bool(v1::WorkerRecord&)>& fn,
                     const bad_record_fn& on_bad = {});
};

}  // namespace crowdiff::persistence
