#include "persistence/commit_queue.hpp"

#include <future>
#include <vector>

namespace crowdiff::persistence {

commit_queue::commit_queue(kv_store& kv, mode m, uint32_t max_batch)
    : kv_(kv), mode_(m), max_batch_(max_batch == 0 ? 1 : max_batch) {
  if (mode_ == mode::threaded)
    writer_ = std::thread([this] { writer_loop(); });
}

commit_queue::~commit_queue() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable())
    writer_.join();
}

void commit_queue::submit(write_op op, write_done done) {
  if (mode_ == mode::inline_commit) {
    std::deque<pending> batch;
    batch.push_back({std::move(op), std::move(done)});
    std::lock_guard lock{inline_mutex_};
    commit_batch(batch);
    return;
  }
  {
    std::lock_guard lock{mutex_};
    if (stopping_) {
      // Accepting it now would mean acknowledging a write that never happens.
      if (done)
        done(status{errc::unavailable, "the store is shutting down"});
      return;
    }
    queue_.push_back({std::move(op), std::move(done)});
  }
  wake_.notify_one();
}

status commit_queue::run(write_op op) {
  std::promise<status> promise;
  auto future = promise.get_future();
  submit(std::move(op), [&promise](const status& s) { promise.set_value(s); });
  return future.get();
}

uint64_t commit_queue::batches() const {
  std::lock_guard lock{mutex_};
  return batches_;
}

void commit_queue::writer_loop() {
  std::deque<pending> batch;
  for (;;) {
    {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_)
        return;
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_batch(batch);
    batch.clear();
  }
}

void commit_queue::commit_batch(std::deque<pending>& batch) {
  std::vector<status> outcomes(batch.size());
  status commit_status;
  // A full map aborts the whole batch; grow and run it again (operations are re-runnable).
  for (int attempt = 0; attempt < 16; ++attempt) {
    auto txn = kv_.begin_write();
    if (!txn) {
      commit_status = txn.error();
      break;
    }
    bool map_full = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      auto child = (*txn)->begin_child();
      if (!child) {
        outcomes[i] = child.error();
        map_full = (*txn)->map_full();
        if (map_full)
          break;
        continue;
      }
      status s = batch[i].op(**child);
      if (s)
        s = (*child)->commit();
      if (!s)
        (*child)->abort();
      outcomes[i] = s;
      if ((*txn)->map_full()) {
        map_full = true;
        break;
      }
    }
    if (!map_full) {
      commit_status = (*txn)->commit();
      map_full = !commit_status && (*txn)->map_full();
    }
    if (!map_full)
      break;
    (*txn)->abort();
    txn = status{errc::internal, "released"};
    if (auto s = kv_.grow(); !s) {
      commit_status = s;
      break;
    }
    commit_status = status{errc::resource_exhausted, "the store map could not grow enough"};
  }
  {
    std::lock_guard lock{mutex_};
    ++batches_;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].done)
      continue;
    batch[i].done(commit_status ? outcomes[i] : commit_status);
  }
}

}  // namespace crowdiff::persistence
