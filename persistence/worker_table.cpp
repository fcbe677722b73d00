#include "persistence/worker_table.hpp"

#include "persistence/detail/key_codec.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/record_codec.hpp"

namespace crowdiff::persistence {
namespace {

std::string name_key(uint64_t owner, std::string_view name) {
  std::string key = detail::u64_key(owner);
  key.append(name);
  return key;
}

// Names are printable (no NUL), so the NUL ends the name and a prefix scan for "name\0" finds no longer one.
std::string bare_name_key(std::string_view name, uint64_t id) {
  std::string key(name);
  key.push_back('\0');
  detail::append_u64(key, id);
  return key;
}

// The worker ids an index holds under `prefix`; `id_of` reads one from an entry (nullopt: a damaged entry,
// which fails the read).
result<std::vector<uint64_t>> collect_ids(
    read_txn& txn, table t, std::string_view prefix,
    const std::function<std::optional<uint64_t>(std::string_view key, std::string_view value)>& id_of) {
  std::vector<uint64_t> ids;
  bool damaged = false;
  auto s = txn.scan_prefix(t, prefix, [&](std::string_view key, std::string_view value) {
    auto id = id_of(key, value);
    if (!id) {
      damaged = true;
      return false;
    }
    ids.push_back(*id);
    return true;
  });
  if (!s)
    return s;
  if (damaged)
    return status{errc::corruption, "bad entry in " + std::string(table_name(t))};
  return ids;
}

}  // namespace

result<v1::WorkerRecord> worker_table::upsert(write_txn& txn, const v1::WorkerRegistration& registration,
                                              int64_t now_ms) {
  if (registration.name().empty() || registration.name().size() > 128)
    return status{errc::invalid_argument, "a worker name has 1 to 128 characters"};
  auto existing = find(txn, registration.owner_user_id(), registration.name());
  if (!existing)
    return existing.error();
  v1::WorkerRecord record;
  if (existing->has_value()) {
    record = std::move(**existing);
  } else {
    auto id = next_counter(txn, meta_keys::next_worker_id);
    if (!id)
      return id.error();
    record.set_id(*id);
    record.set_first_seen_ms(now_ms);
    CROWDIFF_RETURN_IF_ERROR(txn.put(table::workers_by_name,
                                     name_key(registration.owner_user_id(), registration.name()),
                                     detail::u64_key(*id)));
    CROWDIFF_RETURN_IF_ERROR(
        txn.put(table::workers_by_bare_name, bare_name_key(registration.name(), *id), {}));
  }
  *record.mutable_registration() = registration;
  record.set_last_seen_ms(now_ms);
  record.set_online(true);
  CROWDIFF_RETURN_IF_ERROR(put(txn, record));
  return record;
}

result<std::optional<v1::WorkerRecord>> worker_table::get(read_txn& txn, uint64_t id) {
  v1::WorkerRecord record;
  auto found = read_record(txn, table::workers, detail::u64_key(id), record);
  if (!found)
    return found.error();
  if (!*found)
    return std::optional<v1::WorkerRecord>{};
  return std::optional<v1::WorkerRecord>{std::move(record)};
}

result<std::optional<v1::WorkerRecord>> worker_table::find(read_txn& txn, uint64_t owner,
                                                           std::string_view name) {
  auto id = txn.get(table::workers_by_name, name_key(owner, name));
  if (!id)
    return id.error();
  if (!id->has_value())
    return std::optional<v1::WorkerRecord>{};
  if ((*id)->size() != 8)
    return status{errc::corruption, "bad worker index entry"};
  return get(txn, detail::read_u64(**id));
}

status worker_table::put(write_txn& txn, const v1::WorkerRecord& record) {
  if (record.id() == 0)
    return status{errc::invalid_argument, "a worker record needs an id"};
  return write_record(txn, table::workers, detail::u64_key(record.id()), record);
}

result<std::vector<uint64_t>> worker_table::ids_named(read_txn& txn, std::string_view name) {
  if (name.find('\0') != std::string_view::npos)
    return std::vector<uint64_t>{};  // no worker name has one (they are printable); nor may a prefix match
  std::string prefix(name);
  prefix.push_back('\0');
  return collect_ids(txn, table::workers_by_bare_name, prefix, [&](std::string_view key, std::string_view) {
    return key.size() == prefix.size() + 8 ? std::optional{detail::read_u64(key, prefix.size())}
                                           : std::nullopt;
  });
}

result<std::vector<uint64_t>> worker_table::ids_of_owner(read_txn& txn, uint64_t owner) {
  return collect_ids(txn, table::workers_by_name, detail::u64_key(owner),
                     [](std::string_view, std::string_view value) {
                       return value.size() == 8 ? std::optional{detail::read_u64(value)} : std::nullopt;
                     });
}

status worker_table::index_bare_names(write_txn& txn) {
  std::vector<std::string> keys;
  CROWDIFF_RETURN_IF_ERROR(scan(
      txn,
      [&](v1::WorkerRecord& w) {
        keys.push_back(bare_name_key(w.registration().name(), w.id()));
        return true;
      },
      [](const bad_record&) {}));  // an undecodable record has no name to index; recovery quarantines it
  for (const auto& k : keys)
    CROWDIFF_RETURN_IF_ERROR(txn.put(table::workers_by_bare_name, k, {}));
  return status::ok();
}

status worker_table::scan(read_txn& txn, const std::function<bool(v1::WorkerRecord&)>& fn,
                          const bad_record_fn& on_bad) {
  v1::WorkerRecord record;
  return scan_records(
      txn, table::workers, {}, record, [&](std::string_view) { return fn(record); }, on_bad);
}

}  // namespace crowdiff::persistence
