#include "persistence/store.hpp"

#include <chrono>

#include "common/api_key.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/lmdb_store.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/user_table.hpp"
#include "persistence/worker_table.hpp"

namespace crowdiff::persistence {

store::store(std::shared_ptr<kv_store> kv, commit_queue::mode mode, uint32_t max_batch)
    : kv_(std::move(kv)), commits_(std::make_unique<commit_queue>(*kv_, mode, max_batch)) {}

store::~store() {
  // The queue drains and joins its writer before the kv_store it writes to goes away.
  commits_.reset();
}

result<std::unique_ptr<store>> store::open(const store_options& options) {
  auto kv =
      open_lmdb_store(lmdb_options{options.directory, options.create_if_missing, options.initial_map_bytes});
  if (!kv)
    return kv.error();
  return open(std::shared_ptr<kv_store>(std::move(*kv)), options.mode, options.max_batch);
}

result<std::unique_ptr<store>> store::open(std::shared_ptr<kv_store> kv, commit_queue::mode mode,
                                           uint32_t max_batch) {
  std::unique_ptr<store> s{new store(std::move(kv), mode, max_batch)};
  if (auto st = s->bootstrap(); !st)
    return st;
  return s;
}

status store::bootstrap() {
  return write_sync([](write_txn& txn) -> status {
    auto version = read_counter(txn, meta_keys::schema_version);
    if (!version)
      return version.error();
    if (*version > current_schema_version)
      return status{errc::unsupported, "the store has schema version " + std::to_string(*version) +
                                           ", newer than this crowdiff understands (" +
                                           std::to_string(current_schema_version) + ")"};
    if (*version == current_schema_version)
      return status::ok();
    if (*version == 1) {
      // Schema 2 adds two indexes (workers by name alone, balances by amount): written from the tables.
      CROWDIFF_RETURN_IF_ERROR(worker_table::index_bare_names(txn));
      CROWDIFF_RETURN_IF_ERROR(ledger_book::index_balances(txn));
      return write_counter(txn, meta_keys::schema_version, current_schema_version);
    }
    // A fresh store: a store with data but no version is not ours.
    bool has_data = false;
    auto s = txn.scan(table::users, {}, [&](std::string_view, std::string_view) {
      has_data = true;
      return false;
    });
    if (!s)
      return s;
    if (has_data)
      return status{errc::corruption, "the store has users but no schema version"};
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    auto anon = user_table::create(txn, "Anonymous", hash_api_key(anonymous_api_key), now, true);
    if (!anon)
      return anon.error();
    if (anon->id() != anonymous_user_id)
      return status{errc::internal, "the anonymous account must be user 1"};
    return write_counter(txn, meta_keys::schema_version, current_schema_version);
  });
}

}  // namespace crowdiff::persistence
