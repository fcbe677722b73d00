#include "persistence/user_table.hpp"

#include <algorithm>
#include <cctype>

#include "persistence/detail/key_codec.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/record_codec.hpp"

namespace crowdiff::persistence {
namespace {

std::string name_key(std::string_view name) {
  std::string key{name};
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  return key;
}

result<std::optional<v1::UserRecord>> get_via_index(read_txn& txn, table index, std::string_view key) {
  auto id = txn.get(index, key);
  if (!id)
    return id.error();
  if (!id->has_value())
    return std::optional<v1::UserRecord>{};
  if ((*id)->size() != 8)
    return status{errc::corruption, "bad user index entry"};
  return user_table::get(txn, detail::read_u64(**id));
}

// True when the index entry at `key` names a user record that exists. An entry left behind by a user whose
// record was quarantined (it could not be decoded) names nothing, and its name or key is free again.
result<bool> indexes_a_user(read_txn& txn, table index, std::string_view key) {
  auto id = txn.get(index, key);
  if (!id)
    return id.error();
  if (!id->has_value())
    return false;
  auto user = txn.get(table::users, **id);
  if (!user)
    return user.error();
  return user->has_value();
}

}  // namespace

status user_table::validate_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return status{errc::invalid_argument, "a user name has 1 to 64 characters"};
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return status{errc::invalid_argument, "a user name may not contain control characters"};
  return status::ok();
}

result<v1::UserRecord> user_table::create(write_txn& txn, std::string_view name, std::string_view key_hash,
                                          int64_t now_ms, bool anonymous, bool admin) {
  CROWDIFF_RETURN_IF_ERROR(validate_name(name));
  if (key_hash.size() != 32)
    return status{errc::invalid_argument, "a key hash has 32 bytes"};
  auto by_name = indexes_a_user(txn, table::users_by_name, name_key(name));
  if (!by_name)
    return by_name.error();
  if (*by_name)
    return status{errc::already_exists, "user name '" + std::string(name) + "' is taken"};
  auto by_key = indexes_a_user(txn, table::users_by_key, key_hash);
  if (!by_key)
    return by_key.error();
  if (*by_key)
    return status{errc::already_exists, "that API key is already in use"};

  auto id = next_counter(txn, meta_keys::next_user_id);
  if (!id)
    return id.error();
  v1::UserRecord user;
  user.set_id(*id);
  user.set_name(std::string(name));
  user.set_created_ms(now_ms);
  user.set_key_hash(std::string(key_hash));
  user.set_anonymous(anonymous);
  user.set_admin(admin);
  auto id_key = detail::u64_key(*id);
  CROWDIFF_RETURN_IF_ERROR(write_record(txn, table::users, id_key, user));
  CROWDIFF_RETURN_IF_ERROR(txn.put(table::users_by_name, name_key(name), id_key));
  CROWDIFF_RETURN_IF_ERROR(txn.put(table::users_by_key, key_hash, id_key));
  CROWDIFF_RETURN_IF_ERROR(ledger_book::open_account(txn, *id));
  return user;
}

result<std::optional<v1::UserRecord>> user_table::get(read_txn& txn, uint64_t id) {
  v1::UserRecord user;
  auto found = read_record(txn, table::users, detail::u64_key(id), user);
  if (!found)
    return found.error();
  if (!*found)
    return std::optional<v1::UserRecord>{};
  return std::optional<v1::UserRecord>{std::move(user)};
}

result<std::optional<v1::UserRecord>> user_table::find_by_key_hash(read_txn& txn, std::string_view key_hash) {
  if (key_hash.size() != 32)
    return std::optional<v1::UserRecord>{};
  return get_via_index(txn, table::users_by_key, key_hash);
}

result<std::optional<v1::UserRecord>> user_table::find_by_name(read_txn& txn, std::string_view name) {
  if (!validate_name(name))
    return std::optional<v1::UserRecord>{};
  return get_via_index(txn, table::users_by_name, name_key(name));
}

result<std::vector<uint64_t>> user_table::oldest(read_txn& txn, uint64_t first, uint64_t count) {
  std::vector<uint64_t> ids;
  uint64_t rank = 0;
  auto s = txn.scan(table::users, {}, [&](std::string_view key, std::string_view) {
    if (rank++ >= first && key.size() == 8)
      ids.push_back(detail::read_u64(key));
    return ids.size() < count;
  });
  if (!s)
    return s;
  return ids;
}

status user_table::scan(read_txn& txn, const std::function<bool(v1::UserRecord&)>& fn,
                        const bad_record_fn& on_bad) {
  v1::UserRecord user;
  return scan_records(
      txn, table::users, {}, user, [&](std::string_view) { return fn(user); }, on_bad);
}

}  // namespace crowdiff::persistence
