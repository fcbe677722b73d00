#include "persistence/quarantine_table.hpp"

#include <string>

#include "persistence/detail/key_codec.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/record_codec.hpp"

namespace crowdiff::persistence {

result<std::optional<uint64_t>> quarantine_table::move_aside(write_txn& txn, const bad_record& bad,
                                                             int64_t now_ms) {
  if (bad.source == table::quarantine)
    return status{errc::invalid_argument, "a quarantine entry is dropped, not moved aside"};
  auto current = txn.get(bad.source, bad.key);
  if (!current)
    return current.error();
  if (!current->has_value() || **current != bad.bytes)
    return std::optional<uint64_t>{};
  v1::QuarantineRecord record;
  record.set_source_table(static_cast<uint32_t>(bad.source));
  record.set_key(bad.key);
  record.set_value(bad.bytes);
  record.set_quarantined_ms(now_ms);
  record.set_error(bad.error);
  auto id = put(txn, record);
  if (!id)
    return id.error();
  CROWDIFF_RETURN_IF_ERROR(txn.erase(bad.source, bad.key));
  for (const auto& [index, key] : bad.index_entries)
    CROWDIFF_RETURN_IF_ERROR(txn.erase(index, key));
  // A webhook owed its `done` cannot be served without its job (webhooks_owed is keyed by the job id).
  if (bad.source == table::jobs)
    CROWDIFF_RETURN_IF_ERROR(txn.erase(table::webhooks_owed, bad.key));
  return std::optional<uint64_t>{*id};
}

result<std::vector<std::optional<uint64_t>>> quarantine_table::move_aside(write_txn& txn,
                                                                          const std::vector<bad_record>& bad,
                                                                          int64_t now_ms) {
  std::vector<std::optional<uint64_t>> ids;
  ids.reserve(bad.size());
  for (const auto& b : bad) {
    auto id = move_aside(txn, b, now_ms);
    if (!id)
      return id.error();
    ids.push_back(*id);
  }
  return ids;
}

result<uint64_t> quarantine_table::put(write_txn& txn, v1::QuarantineRecord& record) {
  auto id = next_counter(txn, meta_keys::next_quarantine_id);
  if (!id)
    return id.error();
  record.set_id(*id);
  CROWDIFF_RETURN_IF_ERROR(write_record(txn, table::quarantine, detail::u64_key(*id), record));
  return *id;
}

result<std::optional<v1::QuarantineRecord>> quarantine_table::get(read_txn& txn, uint64_t id) {
  v1::QuarantineRecord record;
  auto found = read_record(txn, table::quarantine, detail::u64_key(id), record);
  if (!found)
    return found.error();
  if (!*found)
    return std::optional<v1::QuarantineRecord>{};
  return std::optional<v1::QuarantineRecord>{std::move(record)};
}

status quarantine_table::scan(read_txn& txn, const std::function<bool(v1::QuarantineRecord&)>& fn,
                              const bad_record_fn& on_bad) {
  v1::QuarantineRecord record;
  return scan_records(
      txn, table::quarantine, {}, record, [&](std::string_view) { return fn(record); }, on_bad);
}

result<bool> quarantine_table::erase(write_txn& txn, uint64_t id) {
  auto key = detail::u64_key(id);
  auto present = txn.get(table::quarantine, key);
  if (!present)
    return present.error();
  if (!present->has_value())
    return false;
  CROWDIFF_RETURN_IF_ERROR(txn.erase(table::quarantine, key));
  return true;
}

result<uint64_t> quarantine_table::erase_all(write_txn& txn) {
  std::vector<std::string> keys;
  auto s = txn.scan(table::quarantine, {}, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
  if (!s)
    return s;
  for (const auto& key : keys)
    CROWDIFF_RETURN_IF_ERROR(txn.erase(table::quarantine, key));
  return static_cast<uint64_t>(keys.size());
}

void log_moved_aside(std::string_view scan, const std::vector<bad_record>& bad,
                     const std::vector<std::optional<uint64_t>>& ids, const status& outcome) {
  for (size_t i = 0; i < bad.size(); ++i) {
    if (!outcome) {
      auto line = log::error("quarantine_failed");
      line.kv("scan", scan);
      describe(line, bad[i]).kv("cause", outcome.to_string());
    } else if (i < ids.size() && ids[i]) {
      auto line = log::error("record_quarantined");
      line.kv("scan", scan).kv("quarantine_id", *ids[i]);
      describe(line, bad[i]);
    }
  }
}

}  // namespace crowdiff::persistence
