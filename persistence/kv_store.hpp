#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "common/status.hpp"

namespace crowdiff::persistence {

/// The tables of the store. Their names are on-disk (LMDB named databases): never rename or renumber.
/// FORMAT.md documents every key and value.
enum class table : uint8_t {
  meta = 0,
  jobs = 1,
  jobs_by_state = 2,
  results = 3,
  results_by_expiry = 4,
  users = 5,
  users_by_key = 6,
  users_by_name = 7,
  workers = 8,
  workers_by_name = 9,
  journal = 10,
  journal_by_cause = 11,
  balances = 12,
  jobs_by_client_key = 13,
  webhooks_owed = 14,
  quarantine = 15,
  workers_by_bare_name = 16,  // since schema 2
  balances_by_amount = 17,    // since schema 2
};

/// One more than the last table's number; new tables are appended.
inline constexpr size_t table_count = 18;

/// The on-disk name of a table; "unknown" for a number that names none.
std::string_view table_name(table t);

/// Visitor for scans: return false to stop.
using scan_fn = std::function<bool(std::string_view key, std::string_view value)>;

/// A consistent snapshot of the store. Views it returns stay valid until it ends.
class read_txn {
 public:
  virtual ~read_txn() = default;

  /// The value under `key`, or nullopt when absent; an error when the store fails.
  virtual result<std::optional<std::string_view>> get(table t, std::string_view key) = 0;

  /// Visits entries with key >= `from` in ascending key order until `fn` returns false.
  virtual status scan(table t, std::string_view from, const scan_fn& fn) = 0;

  /// Visits entries whose key starts with `prefix`, in key order, until `fn` returns false.
  status scan_prefix(table t, std::string_view prefix, const scan_fn& fn);
};

/// A write transaction: reads see its own writes. Nothing is visible to others until `commit()`.
/// A child (nested) transaction commits into its parent, or aborts without touching it.
class write_txn : public read_txn {
 public:
  virtual status put(table t, std::string_view key, std::string_view value) = 0;
  /// Removes `key`; removing an absent key is not an error.
  virtual status erase(table t, std::string_view key) = 0;

  /// Starts a nested transaction. The parent must not be used until the child ends.
  virtual result<std::unique_ptr<write_txn>> begin_child() = 0;

  /// Makes the writes durable (top level) or merges them into the parent (child). The object is done after.
  virtual status commit() = 0;
  /// Discards the writes. The object is done after; destroying an unfinished transaction aborts it.
  virtual void abort() = 0;

  /// True when a write failed because the store's map is full (LMDB); the caller aborts, grows, retries.
  virtual bool map_full() const = 0;
};

/// A transactional key-value store with named tables: LMDB on disk, or in memory for tests.
/// Any number of readers; one writer at a time (begin_write blocks until the previous one ends).
class kv_store {
 public:
  virtual ~kv_store() = default;

  virtual result<std::unique_ptr<read_txn>> begin_read() = 0;
  virtual result<std::unique_ptr<write_txn>> begin_write() = 0;

  /// Enlarges the map after a map-full write (no transaction of this store may be active). Stores
  /// without a fixed map return ok.
  virtual status grow() = 0;
};

}  // namespace crowdiff::persistence
