#include "persistence/webhook_table.hpp"

#include "persistence/record_codec.hpp"

namespace crowdiff::persistence {

status webhook_table::owe(write_txn& txn, const uuid& job) {
  return txn.put(table::webhooks_owed, job.to_bytes(), {});
}

status webhook_table::settle(write_txn& txn, const uuid& job) {
  return txn.erase(table::webhooks_owed, job.to_bytes());
}

result<bool> webhook_table::owed(read_txn& txn, const uuid& job) {
  auto v = txn.get(table::webhooks_owed, job.to_bytes());
  if (!v)
    return v.error();
  return v->has_value();
}

status webhook_table::scan(read_txn& txn, const std::function<bool(const uuid&)>& fn,
                           const bad_record_fn& on_bad) {
  status inner;
  auto s = txn.scan(table::webhooks_owed, {}, [&](std::string_view key, std::string_view value) {
    auto id = uuid::from_bytes(key);
    if (!id) {
      inner =
          skip_or_fail(on_bad, bad_record{table::webhooks_owed, std::string(key), std::string(value), {}, {}},
                       status{errc::corruption, "webhooks_owed holds a key that is not a job id"});
      return inner.is_ok();
    }
    return fn(*id);
  });
  if (!s)
    return s;
  return inner;
}

}  // namespace crowdiff::persistence
