#include "persistence/result_table.hpp"

#include <vector>

#include "persistence/detail/key_codec.hpp"
#include "persistence/record_codec.hpp"

namespace crowdiff::persistence {
namespace {

std::string result_key(std::string_view job_id, uint32_t index) {
  std::string key{job_id};
  detail::append_u32(key, index);
  return key;
}

std::string expiry_key(int64_t expires_ms, std::string_view job_id, uint32_t index) {
  std::string key;
  detail::append_u64(key, static_cast<uint64_t>(expires_ms));
  key += result_key(job_id, index);
  return key;
}

}  // namespace

result<std::optional<v1::GenerationResult>> result_table::get(read_txn& txn, const uuid& job,
                                                              uint32_t index) {
  v1::GenerationResult r;
  auto found = read_record(txn, table::results, result_key(job.to_bytes(), index), r);
  if (!found)
    return found.error();
  if (!*found)
    return std::optional<v1::GenerationResult>{};
  return std::optional<v1::GenerationResult>{std::move(r)};
}

status result_table::put(write_txn& txn, const v1::GenerationResult& r) {
  if (r.job_id().size() != 16)
    return status{errc::invalid_argument, "a result needs its 16-byte job id"};
  auto key = result_key(r.job_id(), r.image_index());
  v1::GenerationResult previous;
  auto found = read_record(txn, table::results, key, previous);
  if (!found)
    return found.error();
  if (*found)
    CROWDIFF_RETURN_IF_ERROR(
        txn.erase(table::results_by_expiry, expiry_key(previous.expires_ms(), r.job_id(), r.image_index())));
  CROWDIFF_RETURN_IF_ERROR(
      txn.put(table::results_by_expiry, expiry_key(r.expires_ms(), r.job_id(), r.image_index()), {}));
  return write_record(txn, table::results, key, r);
}

status result_table::erase(write_txn& txn, const uuid& job, uint32_t index) {
  auto key = result_key(job.to_bytes(), index);
  v1::GenerationResult previous;
  auto found = read_record(txn, table::results, key, previous);
  if (!found)
    return found.error();
  if (!*found)
    return status::ok();
  CROWDIFF_RETURN_IF_ERROR(
      txn.erase(table::results_by_expiry, expiry_key(previous.expires_ms(), job.to_bytes(), index)));
  return txn.erase(table::results, key);
}

result<uint32_t> result_table::erase_expired(write_txn& txn, int64_t now_ms, uint32_t limit) {
  std::vector<std::string> expired;
  auto s = txn.scan(table::results_by_expiry, {}, [&](std::string_view key, std::string_view) {
    if (expired.size() >= limit)
      return false;
    if (key.size() != 28)
      return true;  // not an entry this code wrote: skipped, so that it cannot stop expiry for good
    if (detail::read_u64(key) > static_cast<uint64_t>(now_ms))
      return false;
    expired.emplace_back(key);
    return true;
  });
  if (!s)
    return s;
  for (const auto& key : expired) {
    CROWDIFF_RETURN_IF_ERROR(txn.erase(table::results, std::string_view{key}.substr(8)));
    CROWDIFF_RETURN_IF_ERROR(txn.erase(table::results_by_expiry, key));
  }
  return static_cast<uint32_t>(expired.size());
}

}  // namespace crowdiff::persistence
