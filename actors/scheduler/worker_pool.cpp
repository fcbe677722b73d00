#include "actors/scheduler/worker_pool.hpp"

#include <algorithm>

namespace crowdiff::scheduling {

const model_slot* worker_state::find_model(model_id m) const {
  for (const auto& s : models)
    if (s.model == m)
      return &s;
  return nullptr;
}

model_slot* worker_state::find_model(model_id m) {
  for (auto& s : models)
    if (s.model == m)
      return &s;
  return nullptr;
}

void worker_pool::put(worker_state w) {
  remove(w.id);
  w.busy = 0;
  w.assignments.clear();
  if (w.slots == 0)
    w.slots = 1;
  index_models(w, true);
  free_.insert(w.id);
  workers_.emplace(w.id, std::move(w));
}

void worker_pool::remove(worker_id id) {
  auto it = workers_.find(id);
  if (it == workers_.end())
    return;
  index_models(it->second, false);
  free_.erase(id);
  workers_.erase(it);
}

worker_state* worker_pool::find(worker_id id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

const worker_state* worker_pool::find(worker_id id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

void worker_pool::occupy(worker_state& w, uint64_t assignment_id) {
  ++w.busy;
  w.assignments.push_back(assignment_id);
  if (!w.has_free_slot())
    free_.erase(w.id);
}

void worker_pool::release(worker_state& w, uint64_t assignment_id) {
  auto it = std::find(w.assignments.begin(), w.assignments.end(), assignment_id);
  if (it == w.assignments.end())
    return;
  w.assignments.erase(it);
  if (w.busy > 0)
    --w.busy;
  if (w.has_free_slot())
    free_.insert(w.id);
}

const std::vector<worker_id>& worker_pool::serving(model_id m) const {
  static const std::vector<worker_id> none;
  auto it = by_model_.find(m);
  return it == by_model_.end() ? none : it->second;
}

void worker_pool::index_models(const worker_state& w, bool add) {
  for (const auto& s : w.models) {
    auto& list = by_model_[s.model];
    if (add) {
      list.push_back(w.id);
    } else {
      list.erase(std::remove(list.begin(), list.end(), w.id), list.end());
      if (list.empty())
        by_model_.erase(s.model);
    }
  }
}

}  // namespace crowdiff::scheduling
