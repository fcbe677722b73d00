#pragma once

// A fault-injecting kv_store for tests: wraps another kv_store (usually the in-memory one) and, on demand,
// fails the n-th commit (its transaction is dropped: none of its writes are kept), fails the n-th put or
// erase, or reports a full map that cannot grow. Everything else passes through, so a test can "restart" by
// opening a new store on the same data and see exactly what was committed.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "persistence/kv_store.hpp"

namespace crowdiff::testing {

class faulty_kv final : public persistence::kv_store {
 public:
  explicit faulty_kv(std::shared_ptr<persistence::kv_store> inner) : inner_(std::move(inner)) {}

  /// The n-th top-level commit from now (1: the next) fails with `unavailable`, and its transaction is
  /// dropped.
  void fail_commit(uint64_t n) { commit_countdown_ = n; }
  /// The n-th put or erase from now (1: the next) fails with `unavailable`.
  void fail_write(uint64_t n) { write_countdown_ = n; }
  /// While set, every put fails as on a full LMDB map, and the map cannot grow.
  void set_full(bool full) { full_ = full; }

  /// Top-level commits that succeeded, and that were failed on purpose.
  uint64_t commits() const { return commits_; }
  uint64_t failed_commits() const { return failed_commits_; }

  result<std::unique_ptr<persistence::read_txn>> begin_read() override { return inner_->begin_read(); }

  result<std::unique_ptr<persistence::write_txn>> begin_write() override {
    auto txn = inner_->begin_write();
    if (!txn)
      return txn.error();
    return std::unique_ptr<persistence::write_txn>(new write(*this, std::move(*txn), true));
  }

  status grow() override {
    if (full_)
      return status{errc::resource_exhausted, "injected: the disk is full"};
    return inner_->grow();
  }

 private:
  // Counts down a fault; true when this call is the one to fail.
  static bool due(std::atomic<uint64_t>& countdown) {
    uint64_t n = countdown.load();
    while (n != 0 && !countdown.compare_exchange_weak(n, n - 1)) {
    }
    return n == 1;
  }

  class write final : public persistence::write_txn {
   public:
    write(faulty_kv& kv, std::unique_ptr<persistence::write_txn> inner, bool top, write* parent = nullptr)
        : kv_(kv), inner_(std::move(inner)), top_(top), parent_(parent) {}

    result<std::optional<std::string_view>> get(persistence::table t, std::string_view key) override {
      return inner_->get(t, key);
    }
    status scan(persistence::table t, std::string_view from, const persistence::scan_fn& fn) override {
      return inner_->scan(t, from, fn);
    }
    status put(persistence::table t, std::string_view key, std::string_view value) override {
      if (kv_.full_) {
        // As LMDB: the whole transaction, parents included, is then unusable; the commit queue asks the
        // top-level one.
        for (write* w = this; w != nullptr; w = w->parent_)
          w->map_full_ = true;
        return status{errc::resource_exhausted, "injected: the map is full"};
      }
      if (due(kv_.write_countdown_))
        return status{errc::unavailable, "injected: the write failed"};
      return inner_->put(t, key, value);
    }
    status erase(persistence::table t, std::string_view key) override {
      if (due(kv_.write_countdown_))
        return status{errc::unavailable, "injected: the write failed"};
      return inner_->erase(t, key);
    }
    result<std::unique_ptr<persistence::write_txn>> begin_child() override {
      auto child = inner_->begin_child();
      if (!child)
        return child.error();
      return std::unique_ptr<persistence::write_txn>(new write(kv_, std::move(*child), false, this));
    }
    status commit() override {
      if (top_ && due(kv_.commit_countdown_)) {
        inner_->abort();
        ++kv_.failed_commits_;
        return status{errc::unavailable, "injected: the commit failed"};
      }
      auto s = inner_->commit();
      if (s && top_)
        ++kv_.commits_;
      return s;
    }
    void abort() override { inner_->abort(); }
    bool map_full() const override { return map_full_ || inner_->map_full(); }

   private:
    faulty_kv& kv_;
    std::unique_ptr<persistence::write_txn> inner_;
    bool top_;
    write* parent_ = nullptr;
    bool map_full_ = false;
  };

  std::shared_ptr<persistence::kv_store> inner_;
  std::atomic<uint64_t> commit_countdown_{0};
  std::atomic<uint64_t> write_countdown_{0};
  std::atomic<bool> full_{false};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> failed_commits_{0};
};

}  // namespace crowdiff::testing
