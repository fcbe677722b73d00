#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "common/status.hpp"
#include "persistence/commit_queue.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

struct store_options {
  std::filesystem::path directory = "./var";
  bool create_if_missing = false;
  uint64_t initial_map_bytes = 64ull << 20;
  uint32_t max_batch = 1024;
  commit_queue::mode mode = commit_queue::mode::threaded;
};

/// crowdiff's store: a kv_store with crowdiff's schema, and the group-commit queue all writes go through.
/// The public contract of persistence/: open it, read with `read()`, change it with `write()`.
class store {
 public:
  /// Opens the LMDB store in `options.directory` and checks or creates its schema (errors: see
  /// open_lmdb_store; unsupported when a newer crowdiff wrote it).
  static result<std::unique_ptr<store>> open(const store_options& options);

  /// Uses an existing kv_store (in memory, or a test's fault-injecting wrapper). The kv_store is shared so a
  /// test can "restart" by opening a new store on the same data.
  static result<std::unique_ptr<store>> open(std::shared_ptr<kv_store> kv, commit_queue::mode mode,
                                             uint32_t max_batch = 1024);

  ~store();

  /// A consistent snapshot for reading; keep it short-lived.
  result<std::unique_ptr<read_txn>> read() { return kv_->begin_read(); }

  /// Queues an atomic change; `done` reports its durable outcome (see commit_queue).
  void write(write_op op, write_done done) { commits_->submit(std::move(op), std::move(done)); }

  /// Runs an atomic change and waits until it is durable.
  status write_sync(write_op op) { return commits_->run(std::move(op)); }

  commit_queue& commits() { return *commits_; }
  kv_store& kv() { return *kv_; }

 private:
  store(std::shared_ptr<kv_store> kv, commit_queue::mode mode, uint32_t max_batch);
  status bootstrap();

  std::shared_ptr<kv_store> kv_;
  std::unique_ptr<commit_queue> commits_;
};

}  // namespace crowdiff::persistence
