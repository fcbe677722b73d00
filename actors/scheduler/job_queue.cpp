#include "actors/scheduler/job_queue.hpp"

#include <algorithm>

namespace crowdiff::scheduling {

void job_queue::push(task t) {
  auto pos = position_of(t);
  order_.insert(pos);
  total_work_ += t.megapixel_steps;
  if (t.models.empty()) {
    any_model_.insert(pos);
  } else {
    for (auto m : t.models)
      by_model_[m].insert(pos);
  }
  by_job_[t.job].push_back(t.key());
  tasks_.insert_or_assign(t.key(), std::move(t));
}

std::optional<task> job_queue::take(uint64_t key) {
  auto it = tasks_.find(key);
  if (it == tasks_.end())
    return std::nullopt;
  task t = std::move(it->second);
  tasks_.erase(it);
  auto pos = position_of(t);
  order_.erase(pos);
  total_work_ = tasks_.empty() ? 0 : total_work_ - t.megapixel_steps;
  if (t.models.empty()) {
    any_model_.erase(pos);
  } else {
    for (auto m : t.models) {
      auto b = by_model_.find(m);
      if (b == by_model_.end())
        continue;
      b->second.erase(pos);
      if (b->second.empty())
        by_model_.erase(b);
    }
  }
  if (auto j = by_job_.find(t.job); j != by_job_.end()) {
    auto& keys = j->second;
    keys.erase(std::remove(keys.begin(), keys.end(), key), keys.end());
    if (keys.empty())
      by_job_.erase(j);
  }
  return t;
}

task* job_queue::find(uint64_t key) {
  auto it = tasks_.find(key);
  return it == tasks_.end() ? nullptr : &it->second;
}

const task* job_queue::find(uint64_t key) const {
  auto it = tasks_.find(key);
  return it == tasks_.end() ? nullptr : &it->second;
}

std::vector<uint64_t> job_queue::keys_of(const uuid& job) const {
  auto it = by_job_.find(job);
  return it == by_job_.end() ? std::vector<uint64_t>{} : it->second;
}

task* job_queue::best_for(const std::vector<model_id>& models,
                          const std::function<bool(const task&)>& eligible) {
  const position* best = nullptr;
  auto scan = [&](const std::set<position>& bucket) {
    for (const auto& pos : bucket) {
      if (best != nullptr && !(pos < *best))
        return;  // nothing better further down this bucket
      if (eligible(tasks_.at(pos.key))) {
        best = &pos;
        return;
      }
    }
  };
  for (auto m : models)
    if (auto b = by_model_.find(m); b != by_model_.end())
      scan(b->second);
  scan(any_model_);
  return best == nullptr ? nullptr : &tasks_.at(best->key);
}

}  // namespace crowdiff::scheduling
