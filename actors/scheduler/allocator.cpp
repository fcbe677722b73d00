#include "actors/scheduler/allocator.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>

namespace crowdiff::scheduling {
namespace {

template <class T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

void erase_value(std::vector<uint64_t>& v, uint64_t x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}

}  // namespace

allocator::allocator(allocator_config config) : config_(config) {}

model_id allocator::intern(std::string_view name) {
  auto it = model_ids_.find(std::string(name));
  if (it != model_ids_.end())
    return it->second;
  auto id = static_cast<model_id>(model_names_.size());
  model_names_.emplace_back(name);
  model_ids_.emplace(std::string(name), id);
  return id;
}

const std::string& allocator::model_name(model_id m) const {
  return model_names_.at(m);
}

double allocator::order_key(double base_priority, int64_t queued_ms) const {
  return base_priority - config_.ageing_per_s * (static_cast<double>(queued_ms) / 1000.0);
}

bool allocator::eligible(const task& t, const worker_state& w) const {
  if (w.maintenance && t.owner_user_id != w.owner)
    return false;
  if (t.pixels > w.max_pixels)
    return false;
  if (t.nsfw && !w.nsfw)
    return false;
  if ((t.features & ~w.features) != 0)
    return false;
  // Requests name workers by name or by id (the AI Horde API uses ids).
  auto named = [&](const std::vector<std::string>& list) {
    return contains(list, w.name) || contains(list, std::to_string(w.id));
  };
  if (!t.allow.empty() && !named(t.allow))
    return false;
  if (named(t.deny))
    return false;
  if (contains(t.excluded, w.id))
    return false;
  return true;
}

double allocator::speed(const worker_state& w, model_id m) const {
  if (const auto* slot = w.find_model(m); slot != nullptr && slot->mps_per_s > 0)
    return slot->mps_per_s;
  return w.mps_per_s > 0 ? w.mps_per_s : 1.0;
}

int64_t allocator::estimate_ms(const task& t, const worker_state& w, model_id m) const {
  // A worker runs its tasks one after another: a task pushed to a busy worker also waits for those before it.
  double ms = 1000.0 * t.megapixel_steps / speed(w, m) * (1 + w.busy);
  if (const auto* slot = w.find_model(m); slot != nullptr && !slot->loaded)
    ms += slot->load_ms > 0 ? slot->load_ms : static_cast<double>(config_.default_model_load_ms);
  return static_cast<int64_t>(ms);
}

std::optional<model_id> allocator::choose_model(const task& t, const worker_state& w) const {
  std::optional<model_id> best;
  int64_t best_ms = std::numeric_limits<int64_t>::max();
  auto consider = [&](model_id m) {
    if (w.find_model(m) == nullptr)
      return;
    int64_t ms = estimate_ms(t, w, m);
    if (ms < best_ms || (ms == best_ms && best && m < *best)) {
      best_ms = ms;
      best = m;
    }
  };
  if (t.models.empty()) {
    for (const auto& slot : w.models)
      consider(slot.model);
  } else {
    for (auto m : t.models)
      consider(m);
  }
  return best;
}

worker_state* allocator::best_free_worker(const task& t, worker_id exclude, model_id& model_out) {
  worker_state* best = nullptr;
  int64_t best_ms = std::numeric_limits<int64_t>::max();
  for (auto id : pool_.with_free_slots()) {
    if (id == exclude)
      continue;
    auto* w = pool_.find(id);
    if (w == nullptr || !eligible(t, *w))
      continue;
    auto m = choose_model(t, *w);
    if (!m)
      continue;
    int64_t ms = estimate_ms(t, *w, *m);
    if (ms < best_ms || (ms == best_ms && best != nullptr && w->id < best->id)) {
      best = w;
      best_ms = ms;
      model_out = *m;
    }
  }
  return best;
}

void allocator::assign(task t, worker_state& w, model_id m, bool backup, int64_t now, decisions& out) {
  assignment a;
  a.id = next_assignment_++;
  a.task_key = t.key();
  a.job = t.job;
  a.index = t.index;
  a.worker = w.id;
  a.model = m;
  a.started_ms = now;
  a.estimated_ms = estimate_ms(t, w, m);
  a.megapixel_steps = t.megapixel_steps;
  a.backup = backup;
  pool_.occupy(w, a.id);
  // The worker loads the model for this task; count it as loaded from now on.
  if (auto* slot = w.find_model(m))
    slot->loaded = true;
  assignments_.emplace(a.id, a);
  out.dispatch.push_back(a);
  if (!contains(t.dispatched_to, w.id))
    t.dispatched_to.push_back(w.id);
  auto key = t.key();
  auto it = running_.find(key);
  if (it == running_.end()) {
    running_by_job_[t.job].push_back(key);
    running_.emplace(key, running_task_entry{std::move(t), {a.id}});
  } else {
    if (!contains(it->second.t.dispatched_to, w.id))
      it->second.t.dispatched_to.push_back(w.id);
    it->second.copies.push_back(a.id);
  }
}

void allocator::fill(worker_state& w, int64_t now, decisions& out) {
  std::vector<model_id> models;
  models.reserve(w.models.size());
  for (const auto& s : w.models)
    models.push_back(s.model);
  while (w.has_free_slot() && !queue_.empty()) {
    task* best = queue_.best_for(models, [&](const task& t) { return eligible(t, w); });
    if (best == nullptr)
      return;
    auto m = choose_model(*best, w);
    if (!m)
      return;
    auto t = queue_.take(best->key());
    assign(std::move(*t), w, *m, false, now, out);
  }
}

void allocator::add_task(task t, int64_t now, decisions& out) {
  model_id m = 0;
  if (auto* w = best_free_worker(t, 0, m)) {
    assign(std::move(t), *w, m, false, now, out);
    return;
  }
  queue_.push(std::move(t));
}

void allocator::add_worker(worker_state w, int64_t now, decisions& out) {
  if (pool_.find(w.id) != nullptr)
    remove_worker(w.id, now, out);
  auto id = w.id;
  pool_.put(std::move(w));
  fill(*pool_.find(id), now, out);
}

void allocator::remove_worker(worker_id id, int64_t now, decisions& out) {
  auto* w = pool_.find(id);
  if (w == nullptr)
    return;
  auto lost = w->assignments;
  pool_.remove(id);  // first, so its tasks cannot land on it again
  for (auto a : lost)
    lose_copy(a, true, false, errc::unavailable, "the worker went away", now, out);
}

void allocator::update_models(worker_id id, std::vector<model_slot> models, int64_t now, decisions& out) {
  auto* w = pool_.find(id);
  if (w == nullptr)
    return;
  worker_state copy = *w;
  // Keep what was measured here; the worker's own numbers only seed models it did not run yet.
  for (auto& s : models)
    if (const auto* old = w->find_model(s.model); old != nullptr && old->mps_per_s > 0)
      s.mps_per_s = old->mps_per_s;
  copy.models = std::move(models);
  auto assignments = copy.assignments;
  pool_.put(std::move(copy));
  auto* fresh = pool_.find(id);
  for (auto a : assignments)
    pool_.occupy(*fresh, a);
  fill(*fresh, now, out);
}

void allocator::set_maintenance(worker_id id, bool on, int64_t now, decisions& out) {
  auto* w = pool_.find(id);
  if (w == nullptr)
    return;
  w->maintenance = on;
  if (!on)
    fill(*w, now, out);
}

std::optional<uint64_t> allocator::find_task_key(const uuid& job, uint32_t index) const {
  if (auto it = running_by_job_.find(job); it != running_by_job_.end())
    for (auto key : it->second)
      if (key % 32 == index)
        return key;
  for (auto key : queue_.keys_of(job))
    if (key % 32 == index)
      return key;
  return std::nullopt;
}

std::optional<assignment> allocator::complete(uint64_t assignment_id, worker_id from, const uuid& job,
                                              uint32_t index, double compute_ms, int64_t now,
                                              decisions& out) {
  std::optional<assignment> mine;
  if (auto it = assignments_.find(assignment_id); it != assignments_.end() && it->second.worker == from) {
    mine = it->second;
    assignments_.erase(it);
    if (auto* w = pool_.find(from))
      pool_.release(*w, assignment_id);
  }

  std::optional<assignment> winner;
  std::optional<uint64_t> key;
  if (mine && mine->job == job && mine->index == index)
    key = mine->task_key;
  else
    key = find_task_key(job, index);

  if (key) {
    task finished;
    bool have = false;
    if (auto r = running_.find(*key); r != running_.end()) {
      if (mine || contains(r->second.t.dispatched_to, from)) {
        finished = std::move(r->second.t);
        for (auto copy : r->second.copies) {
          if (mine && copy == mine->id)
            continue;
          auto a = assignments_.find(copy);
          if (a == assignments_.end())
            continue;
          out.cancel.push_back(a->second);
          if (auto* w = pool_.find(a->second.worker))
            pool_.release(*w, copy);
          assignments_.erase(a);
        }
        auto& keys = running_by_job_[finished.job];
        erase_value(keys, *key);
        if (keys.empty())
          running_by_job_.erase(finished.job);
        running_.erase(r);
        have = true;
      }
    } else if (auto* waiting = queue_.find(*key);
               waiting != nullptr && contains(waiting->dispatched_to, from)) {
      // The worker was given up on (it vanished), yet it delivered: take the result.
      finished = std::move(*queue_.take(*key));
      have = true;
    }
    if (have) {
      winner = mine.value_or(assignment{});
      winner->task_key = *key;
      winner->job = finished.job;
      winner->index = finished.index;
      winner->worker = from;
      winner->megapixel_steps = finished.megapixel_steps;
      if (compute_ms > 0) {
        if (auto* w = pool_.find(from)) {
          double measured = std::clamp(finished.megapixel_steps / (compute_ms / 1000.0), 1e-3, 1e4);
          w->mps_per_s = 0.7 * w->mps_per_s + 0.3 * measured;
          if (mine) {
            if (auto* slot = w->find_model(mine->model))
              slot->mps_per_s = slot->mps_per_s > 0 ? 0.7 * slot->mps_per_s + 0.3 * measured : measured;
          }
        }
      }
    }
  }

  // The freed slots take the next tasks.
  if (auto* w = pool_.find(from))
    fill(*w, now, out);
  for (const auto& c : out.cancel)
    if (auto* w = pool_.find(c.worker))
      fill(*w, now, out);
  return winner;
}

void allocator::fault(uint64_t assignment_id, worker_id from, errc code, const std::string& reason,
                      int64_t now, decisions& out) {
  auto it = assignments_.find(assignment_id);
  if (it == assignments_.end() || it->second.worker != from)
    return;
  lose_copy(assignment_id, true, true, code, reason, now, out);
  if (auto* w = pool_.find(from))
    fill(*w, now, out);
}

void allocator::lose_copy(uint64_t assignment_id, bool count_attempt, bool exclude_worker, errc code,
                          const std::string& reason, int64_t now, decisions& out) {
  auto it = assignments_.find(assignment_id);
  if (it == assignments_.end())
    return;
  assignment a = it->second;
  assignments_.erase(it);
  if (auto* w = pool_.find(a.worker))
    pool_.release(*w, assignment_id);
  auto r = running_.find(a.task_key);
  if (r == running_.end())
    return;
  erase_value(r->second.copies, assignment_id);
  if (count_attempt)
    ++r->second.t.attempts;
  if (exclude_worker && !contains(r->second.t.excluded, a.worker))
    r->second.t.excluded.push_back(a.worker);
  if (!r->second.copies.empty())
    return;  // another copy still runs
  task t = std::move(r->second.t);
  auto& keys = running_by_job_[t.job];
  erase_value(keys, a.task_key);
  if (keys.empty())
    running_by_job_.erase(t.job);
  running_.erase(r);
  if (t.attempts >= config_.max_attempts) {
    out.failed.push_back({t.job, t.index, code == errc::ok ? errc::generation_failed : code,
                          "gave up after " + std::to_string(t.attempts) + " attempts; last: " + reason});
    return;
  }
  out.requeued.push_back(a);
  requeue(std::move(t), now, out);
}

void allocator::requeue(task t, int64_t now, decisions& out) {
  add_task(std::move(t), now, out);
}

void allocator::cancel_job(const uuid& job, int64_t now, decisions& out) {
  for (auto key : queue_.keys_of(job))
    queue_.take(key);
  auto it = running_by_job_.find(job);
  if (it == running_by_job_.end())
    return;
  auto keys = it->second;
  running_by_job_.erase(it);
  for (auto key : keys) {
    auto r = running_.find(key);
    if (r == running_.end())
      continue;
    for (auto copy : r->second.copies) {
      auto a = assignments_.find(copy);
      if (a == assignments_.end())
        continue;
      out.cancel.push_back(a->second);
      if (auto* w = pool_.find(a->second.worker))
        pool_.release(*w, copy);
      assignments_.erase(a);
    }
    running_.erase(r);
  }
  for (const auto& c : out.cancel)
    if (auto* w = pool_.find(c.worker))
      fill(*w, now, out);
}

bool allocator::runnable_anywhere(const task& t) const {
  auto can = [&](const worker_state& w) { return eligible(t, w) && choose_model(t, w).has_value(); };
  if (t.models.empty()) {
    for (const auto& [id, w] : pool_.all())
      if (can(w))
        return true;
    return false;
  }
  for (auto m : t.models)
    for (auto id : pool_.serving(m))
      if (const auto* w = pool_.find(id); w != nullptr && can(*w))
        return true;
  return false;
}

void allocator::tick(int64_t now, decisions& out) {
  // Workers freed by cancellations since the last event take work.
  for (auto id : std::vector<worker_id>(pool_.with_free_slots().begin(), pool_.with_free_slots().end()))
    if (auto* w = pool_.find(id))
      fill(*w, now, out);

  // Stragglers get one backup copy on a free worker that would finish sooner.
  std::vector<uint64_t> stragglers;
  for (const auto& [key, entry] : running_) {
    if (entry.copies.size() != 1)
      continue;
    auto a = assignments_.find(entry.copies.front());
    if (a == assignments_.end() || a->second.backup)
      continue;
    int64_t limit = std::max<int64_t>(
        config_.backup_min_ms, static_cast<int64_t>(config_.backup_after_factor * a->second.estimated_ms));
    if (now - a->second.started_ms > limit)
      stragglers.push_back(key);
  }
  std::sort(stragglers.begin(), stragglers.end());
  for (auto key : stragglers) {
    auto& entry = running_.at(key);
    const auto& original = assignments_.at(entry.copies.front());
    model_id m = 0;
    auto* w = best_free_worker(entry.t, original.worker, m);
    if (w == nullptr)
      continue;
    // The copy is a second dispatch of the same task: assign() appends it to the running entry.
    assign(entry.t, *w, m, true, now, out);
  }

  // Waiting too long, or no worker at all that could ever run it.
  std::vector<uint64_t> expired;
  std::map<std::tuple<std::vector<model_id>, uint64_t, bool, uint32_t>, bool> runnable_memo;
  for (const auto& pos : queue_.order()) {
    auto* t = queue_.find(pos.key);
    if (t->expires_ms > 0 && now >= t->expires_ms) {
      expired.push_back(pos.key);
      continue;
    }
    bool runnable;
    if (t->allow.empty() && t->deny.empty() && t->excluded.empty()) {
      auto sig = std::make_tuple(t->models, t->pixels, t->nsfw, t->features);
      auto m = runnable_memo.find(sig);
      if (m == runnable_memo.end())
        m = runnable_memo.emplace(sig, runnable_anywhere(*t)).first;
      runnable = m->second;
    } else {
      runnable = runnable_anywhere(*t);
    }
    if (runnable) {
      t->unservable_since_ms = 0;
    } else if (t->unservable_since_ms == 0) {
      t->unservable_since_ms = now;
    } else if (now - t->unservable_since_ms >= config_.unservable_timeout_ms) {
      expired.push_back(pos.key);
    }
  }
  for (auto key : expired) {
    auto t = queue_.take(key);
    if (!t)
      continue;
    if (t->expires_ms > 0 && now >= t->expires_ms)
      out.failed.push_back(
          {t->job, t->index, errc::deadline_exceeded, "no worker took it before the job expired"});
    else
      out.failed.push_back({t->job, t->index, errc::unavailable, "no online worker can run this request"});
  }
}

job_estimate allocator::estimate(const uuid& job, int64_t now) const {
  job_estimate e;
  auto waiting = queue_.keys_of(job);
  e.waiting = static_cast<uint32_t>(waiting.size());
  if (auto it = running_by_job_.find(job); it != running_by_job_.end())
    e.running = static_cast<uint32_t>(it->second.size());

  double capacity = 0;  // MPS per second over every slot of every worker
  for (const auto& [id, w] : pool_.all())
    capacity += w.mps_per_s > 0 ? w.mps_per_s : 1.0;  // slots queue on a worker, they do not add speed

  int64_t finish = now;
  if (auto it = running_by_job_.find(job); it != running_by_job_.end()) {
    for (auto key : it->second) {
      const auto& entry = running_.at(key);
      for (auto copy : entry.copies) {
        const auto& a = assignments_.at(copy);
        finish = std::max(finish, a.started_ms + a.estimated_ms);
      }
    }
  }
  e.start_ms = now;
  if (!waiting.empty()) {
    // Its position is the rank of its first waiting image (O(log n)); the work ahead is that many average
    // tasks.
    const task* first = nullptr;
    double own = 0;
    for (auto key : waiting) {
      const task* t = queue_.find(key);
      own += t->megapixel_steps;
      if (first == nullptr || job_queue::position_of(*t) < job_queue::position_of(*first))
        first = t;
    }
    uint32_t rank = queue_.rank_of(*first);
    e.position = rank + 1;
    e.possible = runnable_anywhere(*first);
    if (!e.possible)
      e.reason = "no online worker can run this request";
    double ahead = queue_.size() > 0 ? rank * (queue_.total_work() / static_cast<double>(queue_.size())) : 0;
    if (capacity <= 0) {
      e.possible = false;
      e.reason = "no worker is online";
      e.start_ms = 0;
      e.finish_ms = 0;
      return e;
    }
    e.start_ms = now + static_cast<int64_t>(1000.0 * ahead / capacity);
    finish = std::max(finish, e.start_ms + static_cast<int64_t>(1000.0 * own / capacity));
  }
  e.finish_ms = finish;
  return e;
}

std::unordered_map<model_id, allocator::demand> allocator::demand_by_model() const {
  std::unordered_map<model_id, demand> out;
  for (const auto& pos : queue_.order()) {
    const auto& t = queue_.at(pos);
    for (auto m : t.models) {
      out[m].queued_megapixel_steps += t.megapixel_steps;
      ++out[m].images;
    }
  }
  for (const auto& [key, entry] : running_)
    for (auto m : entry.t.models)
      ++out[m].images;
  return out;
}

const assignment* allocator::find_assignment(uint64_t id) const {
  auto it = assignments_.find(id);
  return it == assignments_.end() ? nullptr : &it->second;
}

const task* allocator::running_task(uint64_t task_key) const {
  auto it = running_.find(task_key);
  return it == running_.end() ? nullptr : &it->second.t;
}

}  // namespace crowdiff::scheduling
