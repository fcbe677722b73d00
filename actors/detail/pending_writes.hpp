#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include <caf/send.hpp>

#include "common/status.hpp"
#include "persistence/store.hpp"
#include "protocol/errors.hpp"
#include "protocol/type_ids.hpp"

namespace crowdiff::detail {

/// An actor's store writes in flight. `submit` queues a write on the store's group-commit queue; once it is
/// durable the writer thread sends (committed_atom, id, code, message) to the actor, whose handler calls
/// `resume`, so the continuation runs inside the actor, never on the writer thread.
class pending_writes {
 public:
  using continuation = std::function<void(const status&)>;

  template <class Handle>
  void submit(persistence::store& store, const Handle& self, persistence::write_op op, continuation then) {
    uint64_t id = ++next_id_;
    waiting_.emplace(id, std::move(then));
    store.write(std::move(op), [self, id](const status& s) {
      caf::anon_send(self, committed_atom::value, id, to_error(s));
    });
  }

  void resume(uint64_t id, const caf::error& outcome) {
    auto it = waiting_.find(id);
    if (it == waiting_.end())
      return;
    auto then = std::move(it->second);
    waiting_.erase(it);
    then(to_status(outcome));
  }

  size_t in_flight() const { return waiting_.size(); }

 private:
  std::unordered_map<uint64_t, continuation> waiting_;
  uint64_t next_id_ = 0;
};

}  // namespace crowdiff::detail
