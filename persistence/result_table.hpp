#pragma once

#include <cstdint>
#include <optional>

#include "common/status.hpp"
#include "common/uuid.hpp"
#include "crowdiff/v1/result.pb.h"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// Table `results` ((job id, image index) -> GenerationResult with the image bytes) and its index
/// `results_by_expiry`, so expired images are dropped by a range scan.
class result_table {
 public:
  static result<std::optional<v1::GenerationResult>> get(read_txn& txn, const uuid& job, uint32_t index);

  /// Stores `r` (keyed by its job id and image index) with its `expires_ms`.
  static status put(write_txn& txn, const v1::GenerationResult& r);

  /// Removes one result; ok when absent.
  static status erase(write_txn& txn, const uuid& job, uint32_t index);

  /// Removes up to `limit` results that expired at or before `now_ms`; returns how many.
  static result<uint32_t> erase_expired(write_txn& txn, int64_t now_ms, uint32_t limit);
};

}  // namespace crowdiff::persistence
