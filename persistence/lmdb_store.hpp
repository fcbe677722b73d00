#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

struct lmdb_options {
  std::filesystem::path directory;
  /// Create the directory (not its parents) when it does not exist; otherwise that is an error.
  bool create_if_missing = false;
  /// Initial map size; the map doubles whenever a write finds it full.
  uint64_t initial_map_bytes = 64ull << 20;
};

/// Opens the LMDB store in `options.directory`, creating its tables on first use. Every commit is synced
/// to disk before it returns. Errors: not_found (no directory), invalid_argument (not a directory),
/// store_locked (another process has it open), corruption (not an LMDB file, or damaged),
/// io_error / permission_denied (the operating system refused).
result<std::unique_ptr<kv_store>> open_lmdb_store(const lmdb_options& options);

}  // namespace crowdiff::persistence
