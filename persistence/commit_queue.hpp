#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// One atomic change to the store: it either returns ok and its writes commit, or returns an error and
/// none of its writes are kept. It may run more than once (when a batch is retried), so it must compute
/// everything from what it reads in `txn`.
using write_op = std::function<status(write_txn& txn)>;

/// Called once per operation after its fate is durable: ok (committed and synced) or its error.
using write_done = std::function<void(const status&)>;

/// Group commit. Operations from any thread are queued; a writer thread runs as many as are waiting (up to
/// `max_batch`) in one transaction, each in its own nested transaction so one failing operation does not
/// undo the others, commits once (one fsync for the batch), then reports to every caller. In `inline`
/// mode `submit` runs and commits the operation on the caller's thread instead (deterministic tests).
class commit_queue {
 public:
  enum class mode : uint8_t { threaded, inline_commit };

  commit_queue(kv_store& kv, mode m, uint32_t max_batch = 1024);
  ~commit_queue();
  commit_queue(const commit_queue&) = delete;
  commit_queue& operator=(const commit_queue&) = delete;

  /// Queues `op`; `done` runs on the writer thread (or inline) once the outcome is durable.
  void submit(write_op op, write_done done);

  /// Runs `op` and waits for its durable outcome. Must not be called from `done` callbacks.
  status run(write_op op);

  /// Number of transactions committed so far (for tests and benchmarks).
  uint64_t batches() const;

 private:
  struct pending {
    write_op op;
    write_done done;
  };

  void writer_loop();
  void commit_batch(std::deque<pending>& batch);

  kv_store& kv_;
  const mode mode_;
  const uint32_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<pending> queue_;
  bool stopping_ = false;
  uint64_t batches_ = 0;
  std::mutex inline_mutex_;
  std::thread writer_;
};

}  // namespace crowdiff::persistence
