#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/scheduler/task.hpp"

namespace crowdiff::scheduling {

/// What the scheduler knows of one model on one worker.
struct model_slot {
  model_id model = 0;
  bool loaded = false;
  uint32_t load_ms = 0;
  double mps_per_s = 0;  ///< measured megapixel-steps per second; 0 until known
};

/// A live worker.
struct worker_state {
  worker_id id = 0;
  uint64_t owner = 0;
  std::string name;
  std::vector<model_slot> models;
  uint64_t max_pixels = 0;
  uint32_t features = 0;
  bool nsfw = false;
  double mps_per_s = 1.0;  ///< the worker's speed over all models (self-benchmark, then measured)
  uint32_t slots = 1;      ///< tasks it accepts at once (it runs them in turn)
  uint32_t busy = 0;
  bool maintenance = false;  ///< serves only its owner's jobs
  std::vector<uint64_t> assignments;

  bool has_free_slot() const { return busy < slots; }
  const model_slot* find_model(model_id m) const;
  model_slot* find_model(model_id m);
};

/// The live workers, with an index of those that have a free slot.
class worker_pool {
 public:
  /// Adds or replaces a worker (its busy count and assignments are reset).
  void put(worker_state w);
  void remove(worker_id id);
  worker_state* find(worker_id id);
  const worker_state* find(worker_id id) const;

  /// Marks one slot busy or free and keeps the free index in step.
  void occupy(worker_state& w, uint64_t assignment_id);
  void release(worker_state& w, uint64_t assignment_id);

  const std::unordered_set<worker_id>& with_free_slots() const { return free_; }
  const std::unordered_map<worker_id, worker_state>& all() const { return workers_; }
  size_t size() const { return workers_.size(); }

  /// Workers offering model `m`.
  const std::vector<worker_id>& serving(model_id m) const;

 private:
  void index_models(const worker_state& w, bool add);

  std::unordered_map<worker_id, worker_state> workers_;
  std::unordered_set<worker_id> free_;
  std::unordered_map<model_id, std::vector<worker_id>> by_model_;
};

}  // namespace crowdiff::scheduling
