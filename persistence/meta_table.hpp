#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// Counters and the schema version, in table `meta` (keys are ASCII names, values 8-byte big-endian).
namespace meta_keys {
inline constexpr std::string_view schema_version = "schema_version";
inline constexpr std::string_view next_user_id = "next.user_id";
inline constexpr std::string_view next_worker_id = "next.worker_id";
inline constexpr std::string_view next_job_sequence = "next.job_sequence";
inline constexpr std::string_view next_ledger_sequence = "next.ledger_sequence";
inline constexpr std::string_view next_quarantine_id = "next.quarantine_id";
}  // namespace meta_keys

/// The schema this crowdiff writes. A store with a higher number is refused; lower ones are migrated.
inline constexpr uint64_t current_schema_version = 2;

/// Reads counter `name`; 0 when absent.
result<uint64_t> read_counter(read_txn& txn, std::string_view name);

/// Returns the counter's next value (starting at 1) and stores it.
result<uint64_t> next_counter(write_txn& txn, std::string_view name);

status write_counter(write_txn& txn, std::string_view name, uint64_t value);

}  // namespace crowdiff::persistence
