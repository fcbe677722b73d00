#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/scheduler/job_queue.hpp"
#include "actors/scheduler/task.hpp"
#include "actors/scheduler/worker_pool.hpp"
#include "common/status.hpp"

namespace crowdiff::scheduling {

struct allocator_config {
  double ageing_per_s = 5.0;  ///< priority gained per second of waiting (AI Horde: 50 per 10 s)
  uint32_t max_attempts = 4;  ///< dispatches lost to faults or dead workers before an image fails
  double backup_after_factor = 2.0;
  int64_t backup_min_ms = 10'000;
  int64_t default_model_load_ms = 10'000;
  int64_t unservable_timeout_ms = 300'000;  ///< a task no online worker could ever run fails after this
};

/// An image the scheduler gives up on.
struct task_failure {
  uuid job;
  uint32_t index = 0;
  errc code = errc::ok;
  std::string reason;
};

/// What an event made the allocator decide; the actor carries it out.
struct decisions {
  std::vector<assignment> dispatch;  ///< send to the worker
  std::vector<assignment> cancel;    ///< tell the worker to stop
  std::vector<task_failure> failed;  ///< tell the broker
  std::vector<assignment> requeued;  ///< lost copies whose task waits again (for the broker's status)
  bool empty() const { return dispatch.empty() && cancel.empty() && failed.empty() && requeued.empty(); }
};

/// A job's place in line.
struct job_estimate {
  uint32_t position = 0;  ///< tasks ahead of its first waiting image, plus one; 0 when none waits
  uint32_t waiting = 0;
  uint32_t running = 0;
  int64_t start_ms = 0;
  int64_t finish_ms = 0;
  bool possible = true;  ///< some online worker can run it
  std::string reason;    ///< why not, when not
};

/// Real-time allocation, without actors or clocks (every call takes `now`). Push-based: adding a task
/// places it at once on the free worker that would finish it first (speed, whether the model is loaded);
/// a worker that frees a slot takes the best task it can run. Queue order is the requester's priority plus
/// ageing, folded into a key that never needs updating: priority(t) = base + rate * (t - queued), so two
/// tasks compare the same at every t as base - rate * queued does.
class allocator {
 public:
  explicit allocator(allocator_config config = {});

  /// The small integer the allocator uses for a model name (interned once).
  model_id intern(std::string_view name);
  const std::string& model_name(model_id m) const;

  /// The order key of a task with this base priority, queued at `queued_ms`.
  double order_key(double base_priority, int64_t queued_ms) const;

  void add_task(task t, int64_t now, decisions& out);
  /// Adds a worker or replaces one with the same id (whose assignments are lost and requeued).
  void add_worker(worker_state w, int64_t now, decisions& out);
  void remove_worker(worker_id id, int64_t now, decisions& out);
  /// New model list from a worker (which are loaded, speeds); may let it take more tasks.
  void update_models(worker_id id, std::vector<model_slot> models, int64_t now, decisions& out);
  /// Puts a worker in or out of maintenance (in it, it serves only its owner's jobs).
  void set_maintenance(worker_id id, bool on, int64_t now, decisions& out);

  /// A result arrived. Returns the assignment it completes when it is the first for its image (the winner),
  /// nullopt for a duplicate or a result from a worker that never had the image.
  std::optional<assignment> complete(uint64_t assignment_id, worker_id from, const uuid& job, uint32_t index,
                                     double compute_ms, int64_t now, decisions& out);
  /// The worker reported a fault: retried elsewhere, or failed after max_attempts.
  void fault(uint64_t assignment_id, worker_id from, errc code, const std::string& reason, int64_t now,
             decisions& out);
  /// Drops the job's waiting images and cancels its running ones.
  void cancel_job(const uuid& job, int64_t now, decisions& out);
  /// Periodic: backup copies for stragglers, expiry of tasks that waited too long or that no worker can run.
  void tick(int64_t now, decisions& out);

  job_estimate estimate(const uuid& job, int64_t now) const;

  /// Waiting work (megapixel-steps) and waiting-plus-running images per model a task names.
  struct demand {
    double queued_megapixel_steps = 0;
    uint32_t images = 0;
  };
  std::unordered_map<model_id, demand> demand_by_model() const;
  size_t model_count() const { return model_names_.size(); }

  const worker_pool& workers() const { return pool_; }
  const job_queue& queue() const { return queue_; }
  size_t running() const { return running_.size(); }
  const assignment* find_assignment(uint64_t id) const;
  /// The task behind an assignment, while it runs.
  const task* running_task(uint64_t task_key) const;

 private:
  struct running_task_entry {
    task t;
    std::vector<uint64_t> copies;  // assignment ids
  };

  bool eligible(const task& t, const worker_state& w) const;
  std::optional<model_id> choose_model(const task& t, const worker_state& w) const;
  double speed(const worker_state& w, model_id m) const;
  int64_t estimate_ms(const task& t, const worker_state& w, model_id m) const;
  worker_state* best_free_worker(const task& t, worker_id exclude, model_id& model_out);
  void assign(task t, worker_state& w, model_id m, bool backup, int64_t now, decisions& out);
  void fill(worker_state& w, int64_t now, decisions& out);
  void lose_copy(uint64_t assignment_id, bool count_attempt, bool exclude_worker, errc code,
                 const std::string& reason, int64_t now, decisions& out);
  void requeue(task t, int64_t now, decisions& out);
  bool runnable_anywhere(const task& t) const;
  std::optional<uint64_t> find_task_key(const uuid& job, uint32_t index) const;

  allocator_config config_;
  worker_pool pool_;
  job_queue queue_;
  std::unordered_map<uint64_t, running_task_entry> running_;
  std::unordered_map<uuid, std::vector<uint64_t>, uuid_hash> running_by_job_;
  std::unordered_map<uint64_t, assignment> assignments_;
  std::unordered_map<std::string, model_id> model_ids_;
  std::vector<std::string> model_names_;
  uint64_t next_assignment_ = 1;
};

}  // namespace crowdiff::scheduling
