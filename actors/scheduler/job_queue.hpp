#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "actors/scheduler/task.hpp"

namespace crowdiff::scheduling {

/// The waiting tasks in priority order: one global order (for queue positions) and one bucket per model
/// plus one for tasks that take any model, so a worker looks only at tasks it can run.
class job_queue {
 public:
  /// Position in the order: higher order_key first, then earlier submission, then image index.
  struct position {
    double neg_order;
    uint64_t key;
    friend auto operator<=>(const position&, const position&) = default;
  };

  void push(task t);
  /// Removes and returns the task; nullopt when it is not waiting.
  std::optional<task> take(uint64_t key);
  task* find(uint64_t key);
  bool empty() const { return tasks_.empty(); }
  size_t size() const { return tasks_.size(); }

  /// Waiting tasks of a job.
  std::vector<uint64_t> keys_of(const uuid& job) const;

  /// The first task, in priority order, among those that can use one of `models` or any model, for which
  /// `eligible` holds. Scans each bucket only until its first eligible task.
  task* best_for(const std::vector<model_id>& models, const std::function<bool(const task&)>& eligible);

  /// All waiting tasks in priority order.
  const std::set<position>& order() const { return order_; }
  const task& at(const position& p) const { return tasks_.at(p.key); }

 private:
  static position position_of(const task& t) { return {-t.order_key, t.key()}; }

  std::unordered_map<uint64_t, task> tasks_;
  std::set<position> order_;
  std::unordered_map<model_id, std::set<position>> by_model_;
  std::set<position> any_model_;
  std::unordered_map<uuid, std::vector<uint64_t>, uuid_hash> by_job_;
};

}  // namespace crowdiff::scheduling
