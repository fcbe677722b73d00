#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "crowdiff/v1/user.pb.h"
#include "persistence/bad_record.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// The id of the shared anonymous account, created with the store.
inline constexpr uint64_t anonymous_user_id = 1;

/// Table `users` (id -> UserRecord) with indexes `users_by_key` (key hash -> id) and `users_by_name`
/// (lower-cased name -> id).
class user_table {
 public:
  /// Names are 1 to 64 characters, no control characters, and unique ignoring case.
  static status validate_name(std::string_view name);

  /// Creates a user. Errors: invalid_argument (name), already_exists (name or key hash taken).
  static result<v1::UserRecord> create(write_txn& txn, std::string_view name, std::string_view key_hash,
                                       int64_t now_ms, bool anonymous = false, bool admin = false);

  static result<std::optional<v1::UserRecord>> get(read_txn& txn, uint64_t id);
  static result<std::optional<v1::UserRecord>> find_by_key_hash(read_txn& txn, std::string_view key_hash);
  static result<std::optional<v1::UserRecord>> find_by_name(read_txn& txn, std::string_view name);

  /// User ids in creation order (oldest first): `count` of them from rank `first`. Reads first + count
  /// index keys, not every record.
  static result<std::vector<uint64_t>> oldest(read_txn& txn, uint64_t first, uint64_t count);

  /// Visits every user in id order until `fn` returns false; undecodable records go to `on_bad`.
  static status scan(read_txn& txn, const std::function<bool(v1::UserRecord&)>& fn,
                     const bad_record_fn& on_bad = {});
};

}  // namespace crowdiff::persistence
