#pragma once

#include <cstdint>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
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
  const task* find(uint64_t key) const;
  bool empty() const { return tasks_.empty(); }
  size_t size() const { return tasks_.size(); }

  /// Waiting tasks of a job.
  std::vector<uint64_t> keys_of(const uuid& job) const;

  /// The first task, in priority order, among those that can use one of `models` or any model, for which
  /// `eligible` holds. Scans each bucket only until its first eligible task.
  task* best_for(const std::vector<model_id>& models, const std::function<bool(const task&)>& eligible);

  /// An order-statistics tree: the rank of a task (its queue position) is O(log n).
  using ordered_set =
      __gnu_pbds::tree<position, __gnu_pbds::null_type, std::less<position>, __gnu_pbds::rb_tree_tag,
                       __gnu_pbds::tree_order_statistics_node_update>;

  /// All waiting tasks in priority order.
  const ordered_set& order() const { return order_; }
  const task& at(const position& p) const { return tasks_.at(p.key); }

  /// How many waiting tasks go before `t` (which must be waiting).
  uint32_t rank_of(const task& t) const { return static_cast<uint32_t>(order_.order_of_key(position_of(t))); }
  /// The megapixel-steps of every waiting task together.
  double total_work() const { return total_work_; }

  static position position_of(const task& t) { return {-t.order_key, t.key()}; }

 private:
  std::unordered_map<uint64_t, task> tasks_;
  ordered_set order_;
  double total_work_ = 0;
  std::unordered_map<model_id, std::set<position>> by_model_;
  std::set<position> any_model_;
  std::unordered_map<uuid, std::vector<uint64_t>, uuid_hash> by_job_;
};

}  // namespace crowdiff::scheduling
