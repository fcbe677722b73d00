#include "persistence/job_table.hpp"

#include "persistence/detail/key_codec.hpp"
#include "persistence/record_codec.hpp"

namespace crowdiff::persistence {
namespace {

bool is_active(v1::JobState s) {
  return s == v1::QUEUED || s == v1::RUNNING;
}

// [state u8][order u64][sequence u64][id 16]: on-disk layout, see FORMAT.md.
std::string index_key(const v1::JobRecord& job) {
  std::string key;
  key.reserve(33);
  key.push_back(static_cast<char>(job.state()));
  if (is_active(job.state()))
    detail::append_u64(key, ~detail::ordered_bits(job.base_priority()));  // higher priority first
  else
    detail::append_u64(key, static_cast<uint64_t>(job.finished_ms()));
  detail::append_u64(key, job.sequence());
  key.append(job.id());
  return key;
}

status check_id(std::string_view id) {
  if (id.size() != 16)
    return status{errc::invalid_argument, "a job id has 16 bytes"};
  return status::ok();
}

constexpr size_t index_key_size = 33;

status visit_index(read_txn& txn, std::string_view from, std::string_view prefix,
                   const std::function<bool(std::string_view key)>& stop_before,
                   const std::function<bool(v1::JobRecord&)>& fn, const bad_record_fn& on_bad) {
  status inner;
  v1::JobRecord job;
  auto s = txn.scan(table::jobs_by_state, from, [&](std::string_view key, std::string_view entry) {
    if (key.substr(0, prefix.size()) != prefix)
      return false;
    if (key.size() != index_key_size) {
      inner =
          skip_or_fail(on_bad, bad_record{table::jobs_by_state, std::string(key), std::string(entry), {}, {}},
                       status{errc::corruption, "malformed jobs_by_state key"});
      return inner.is_ok();
    }
    if (stop_before && stop_before(key))
      return false;
    auto id = key.substr(17);
    auto value = txn.get(table::jobs, id);
    if (!value) {
      inner = value.error();
      return false;
    }
    if (!value->has_value()) {
      inner =
          skip_or_fail(on_bad, bad_record{table::jobs_by_state, std::string(key), std::string(entry), {}, {}},
                       status{errc::corruption, "jobs_by_state points at a missing job"});
      return inner.is_ok();
    }
    if (auto decoded = decode_record(**value, job, table::jobs); !decoded) {
      // The index entry goes with the job: left behind, it would point at nothing.
      bad_record bad{table::jobs, std::string(id), std::string(**value), {}, {}};
      bad.index_entries.emplace_back(table::jobs_by_state, std::string(key));
      inner = skip_or_fail(on_bad, std::move(bad), decoded);
      return inner.is_ok();
    }
    return fn(job);
  });
  if (!s)
    return s;
  return inner;
}

}  // namespace

result<std::optional<uuid>> job_table::find_by_client_key(read_txn& txn, uint64_t user,
                                                          std::string_view key) {
  std::string k = detail::u64_key(user);
  k.append(key);
  auto v = txn.get(table::jobs_by_client_key, k);
  if (!v)
    return v.error();
  if (!v->has_value())
    return std::optional<uuid>{};
  auto id = uuid::from_bytes(**v);
  if (!id)
    return status{errc::corruption, "jobs_by_client_key holds a malformed job id"};
  // A key whose job is gone (erased after its retention, or quarantined as undecodable) names nothing: the
  // key is free again rather than answering with a job that cannot be found.
  auto job = txn.get(table::jobs, **v);
  if (!job)
    return job.error();
  if (!job->has_value())
    return std::optional<uuid>{};
  return std::optional<uuid>{*id};
}

status job_table::put_client_key(write_txn& txn, uint64_t user, std::string_view key, const uuid& id) {
  if (key.empty() || key.size() > 128)
    return status{errc::invalid_argument, "an idempotency key has 1 to 128 bytes"};
  std::string k = detail::u64_key(user);
  k.append(key);
  return txn.put(table::jobs_by_client_key, k, id.to_bytes());
}

result<std::optional<v1::JobRecord>> job_table::get(read_txn& txn, const uuid& id) {
  v1::JobRecord job;
  auto found = read_record(txn, table::jobs, id.to_bytes(), job);
  if (!found)
    return found.error();
  if (!*found)
    return std::optional<v1::JobRecord>{};
  return std::optional<v1::JobRecord>{std::move(job)};
}

status job_table::put(write_txn& txn, const v1::JobRecord& job) {
  CROWDIFF_RETURN_IF_ERROR(check_id(job.id()));
  v1::JobRecord previous;
  auto found = read_record(txn, table::jobs, job.id(), previous);
  if (!found)
    return found.error();
  auto new_key = index_key(job);
  if (*found) {
    auto old_key = index_key(previous);
    if (old_key != new_key)
      CROWDIFF_RETURN_IF_ERROR(txn.erase(table::jobs_by_state, old_key));
  }
  CROWDIFF_RETURN_IF_ERROR(txn.put(table::jobs_by_state, new_key, {}));
  return write_record(txn, table::jobs, job.id(), job);
}

status job_table::erase(write_txn& txn, const uuid& id) {
  v1::JobRecord previous;
  auto found = read_record(txn, table::jobs, id.to_bytes(), previous);
  if (!found)
    return found.error();
  if (!*found)
    return status::ok();
  CROWDIFF_RETURN_IF_ERROR(txn.erase(table::jobs_by_state, index_key(previous)));
  // A webhook still owed its `done` goes with the job (webhook_table).
  CROWDIFF_RETURN_IF_ERROR(txn.erase(table::webhooks_owed, id.to_bytes()));
  return txn.erase(table::jobs, id.to_bytes());
}

status job_table::scan_state(read_txn& txn, v1::JobState state, const std::function<bool(v1::JobRecord&)>& fn,
                             const bad_record_fn& on_bad) {
  std::string prefix(1, static_cast<char>(state));
  return visit_index(txn, prefix, prefix, nullptr, fn, on_bad);
}

status job_table::scan_finished_before(read_txn& txn, int64_t before_ms,
                                       const std::function<bool(v1::JobRecord&)>& fn,
                                       const bad_record_fn& on_bad) {
  for (auto state : {v1::DONE, v1::FAILED, v1::CANCELLED}) {
    std::string prefix(1, static_cast<char>(state));
    bool stopped = false;
    auto s = visit_index(
        txn, prefix, prefix,
        [&](std::string_view key) { return detail::read_u64(key, 1) >= static_cast<uint64_t>(before_ms); },
        [&](v1::JobRecord& job) {
          if (!fn(job)) {
            stopped = true;
            return false;
          }
          return true;
        },
        on_bad);
    if (!s)
      return s;
    if (stopped)
      break;
  }
  return status::ok();
}

}  // namespace crowdiff::persistence
