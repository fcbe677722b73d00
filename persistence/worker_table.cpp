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

status worker_table::scan(read_txn& txn, const std::function<bool(v1::WorkerRecord&)>& fn,
                          const bad_record_fn& on_bad) {
  v1::WorkerRecord record;
  return scan_records(
      txn, table::workers, {}, record, [&](std::string_view) { return fn(record); }, on_bad);
}

}  // namespace crowdiff::persistence
