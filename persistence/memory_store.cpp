#include "persistence/memory_store.hpp"

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

namespace crowdiff::persistence {
namespace {

using table_map = std::map<std::string, std::string, std::less<>>;
using overlay_map = std::map<std::string, std::optional<std::string>, std::less<>>;  // nullopt: erased

class memory_kv;

// A layer a write transaction reads through: the committed tables, or a parent transaction.
class layer {
 public:
  virtual ~layer() = default;
  virtual std::optional<std::string_view> lookup(table t, std::string_view key) const = 0;
  // Everything visible at or after `from`, merged.
  virtual void collect(table t, std::string_view from, table_map& out) const = 0;
};

class memory_kv final : public kv_store, public layer {
 public:
  result<std::unique_ptr<read_txn>> begin_read() override;
  result<std::unique_ptr<write_txn>> begin_write() override;
  status grow() override { return status::ok(); }

  std::optional<std::string_view> lookup(table t, std::string_view key) const override {
    const auto& m = tables_[static_cast<size_t>(t)];
    auto it = m.find(key);
    if (it == m.end())
      return std::nullopt;
    return std::string_view{it->second};
  }

  void collect(table t, std::string_view from, table_map& out) const override {
    const auto& m = tables_[static_cast<size_t>(t)];
    for (auto it = m.lower_bound(from); it != m.end(); ++it)
      out.emplace(it->first, it->second);
  }

  void apply(std::array<overlay_map, table_count>& writes) {
    std::unique_lock lock{data_mutex_};
    for (size_t i = 0; i < table_count; ++i) {
      for (auto& [key, value] : writes[i]) {
        if (value)
          tables_[i].insert_or_assign(key, std::move(*value));
        else
          tables_[i].erase(key);
      }
    }
  }

  std::shared_mutex& data_mutex() { return data_mutex_; }
  std::mutex& writer_mutex() { return writer_mutex_; }

 private:
  std::array<table_map, table_count> tables_;
  std::shared_mutex data_mutex_;
  std::mutex writer_mutex_;
};

class memory_read_txn final : public read_txn {
 public:
  explicit memory_read_txn(memory_kv& kv) : kv_(kv), lock_(kv.data_mutex()) {}

  result<std::optional<std::string_view>> get(table t, std::string_view key) override {
    return kv_.lookup(t, key);
  }

  status scan(table t, std::string_view from, const scan_fn& fn) override {
    table_map snapshot;
    kv_.collect(t, from, snapshot);
    for (const auto& [k, v] : snapshot)
      if (!fn(k, v))
        break;
    return status::ok();
  }

 private:
  memory_kv& kv_;
  std::shared_lock<std::shared_mutex> lock_;
};

class memory_write_txn final : public write_txn, public layer {
 public:
  // Top level.
  memory_write_txn(memory_kv& kv, std::unique_lock<std::mutex> writer)
      : kv_(kv), parent_(&kv), parent_txn_(nullptr), writer_(std::move(writer)) {}
  // Child.
  memory_write_txn(memory_kv& kv, memory_write_txn* parent) : kv_(kv), parent_(parent), parent_txn_(parent) {}

  std::optional<std::string_view> lookup(table t, std::string_view key) const override {
    const auto& m = writes_[static_cast<size_t>(t)];
    if (auto it = m.find(key); it != m.end()) {
      if (!it->second)
        return std::nullopt;
      return std::string_view{*it->second};
    }
    return parent_->lookup(t, key);
  }

  void collect(table t, std::string_view from, table_map& out) const override {
    parent_->collect(t, from, out);
    const auto& m = writes_[static_cast<size_t>(t)];
    for (auto it = m.lower_bound(from); it != m.end(); ++it) {
      if (it->second)
        out.insert_or_assign(it->first, *it->second);
      else
        out.erase(it->first);
    }
  }

  result<std::optional<std::string_view>> get(table t, std::string_view key) override {
    if (done_)
      return status{errc::internal, "transaction already finished"};
    return lookup(t, key);
  }

  status scan(table t, std::string_view from, const scan_fn& fn) override {
    if (done_)
      return status{errc::internal, "transaction already finished"};
    table_map snapshot;
    collect(t, from, snapshot);
    for (const auto& [k, v] : snapshot)
      if (!fn(k, v))
        break;
    return status::ok();
  }

  status put(table t, std::string_view key, std::string_view value) override {
    if (done_)
      return status{errc::internal, "transaction already finished"};
    if (key.empty() || key.size() > 511)
      return status{errc::invalid_argument, "key size out of range"};
    writes_[static_cast<size_t>(t)].insert_or_assign(std::string(key), std::string(value));
    return status::ok();
  }

  status erase(table t, std::string_view key) override {
    if (done_)
      return status{errc::internal, "transaction already finished"};
    writes_[static_cast<size_t>(t)].insert_or_assign(std::string(key), std::nullopt);
    return status::ok();
  }

  result<std::unique_ptr<write_txn>> begin_child() override {
    return std::unique_ptr<write_txn>{new memory_write_txn(kv_, this)};
  }

  status commit() override {
    if (done_)
      return status{errc::internal, "transaction already finished"};
    done_ = true;
    if (parent_txn_ != nullptr) {
      for (size_t i = 0; i < table_count; ++i)
        for (auto& [key, value] : writes_[i])
          parent_txn_->writes_[i].insert_or_assign(key, std::move(value));
    } else {
      kv_.apply(writes_);
      if (writer_.owns_lock())
        writer_.unlock();
    }
    return status::ok();
  }

  void abort() override {
    done_ = true;
    for (auto& m : writes_)
      m.clear();
    if (writer_.owns_lock())
      writer_.unlock();
  }

  bool map_full() const override { return false; }

  ~memory_write_txn() override {
    if (!done_)
      abort();
  }

 private:
  memory_kv& kv_;
  const layer* parent_;
  memory_write_txn* parent_txn_;
  std::unique_lock<std::mutex> writer_;
  std::array<overlay_map, table_count> writes_;
  bool done_ = false;
};

result<std::unique_ptr<read_txn>> memory_kv::begin_read() {
  return std::unique_ptr<read_txn>{new memory_read_txn(*this)};
}

result<std::unique_ptr<write_txn>> memory_kv::begin_write() {
  std::unique_lock writer{writer_mutex_};
  return std::unique_ptr<write_txn>{new memory_write_txn(*this, std::move(writer))};
}

}  // namespace

std::unique_ptr<kv_store> make_memory_store() {
  return std::make_unique<memory_kv>();
}

}  // namespace crowdiff::persistence
