#include "actors/broker/job_book.hpp"

namespace crowdiff::broker {

v1::JobState logical_state(const active_job& job) {
  auto stored = job.record.state();
  return stored == v1::QUEUED && job.started ? v1::RUNNING : stored;
}

void job_book::add(const v1::JobRecord& record) {
  auto id = *uuid::from_bytes(record.id());
  active_job job;
  job.record = record;
  job.live.resize(static_cast<size_t>(record.images_size()));
  if (auto old = jobs_.find(id); old != jobs_.end())
    uncount_load(old->second.record);
  count_load(record);
  jobs_.insert_or_assign(id, std::move(job));
}

void job_book::restore(const uuid& id, v1::JobRecord record) {
  active_job job;
  job.live.resize(static_cast<size_t>(record.images_size()));
  job.started = record.state() == v1::RUNNING;
  for (const auto& slot : record.images())
    job.started |= slot.state() == v1::IMAGE_DONE || slot.state() == v1::IMAGE_FAILED;
  job.record = std::move(record);
  if (auto old = jobs_.find(id); old != jobs_.end())
    uncount_load(old->second.record);
  count_load(job.record);
  jobs_.insert_or_assign(id, std::move(job));
}

bool job_book::remove(const uuid& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end())
    return false;
  uncount_load(it->second.record);
  jobs_.erase(it);
  return true;
}

book_effects job_book::start(const uuid& id, uint32_t index, uint64_t worker,
                             const std::string& worker_name) {
  book_effects fx;
  auto it = jobs_.find(id);
  if (it == jobs_.end() || index >= it->second.live.size())
    return fx;
  auto& job = it->second;
  uint32_t steps = job.record.request().steps();
  job.live[index] = {true, 0, steps, worker, worker_name};
  if (!job.started) {
    auto before = logical_state(job);
    job.started = true;
    fx.changed = state_change{id,     job.record.owner_user_id(), job.record.images_size(),
                              before, logical_state(job),         {}};
    add_notice(fx, job, v1::JobEvent::STATE);
  }
  add_notice(fx, job, v1::JobEvent::PROGRESS, index, 0, steps);
  return fx;
}

book_effects job_book::progress(const uuid& id, uint32_t index, uint32_t step, uint32_t total) {
  book_effects fx;
  auto it = jobs_.find(id);
  if (it == jobs_.end() || index >= it->second.live.size())
    return fx;
  auto& l = it->second.live[index];
  l.running = true;
  l.step = step;
  l.total = total;
  add_notice(fx, it->second, v1::JobEvent::PROGRESS, index, step, total);
  return fx;
}

book_effects job_book::requeue(const uuid& id, uint32_t index) {
  book_effects fx;
  auto it = jobs_.find(id);
  if (it == jobs_.end() || index >= it->second.live.size())
    return fx;
  it->second.live[index] = {};
  ++it->second.restarted;
  add_notice(fx, it->second, v1::JobEvent::PROGRESS, index, 0, 0);
  return fx;
}

bool job_book::close_image(const uuid& id, uint32_t index) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || index >= it->second.live.size())
    return false;
  it->second.live[index] = {};
  return true;
}

book_effects job_book::adopt(const uuid& id, v1::JobRecord committed, std::optional<uint32_t> delivered) {
  book_effects fx;
  auto it = jobs_.find(id);
  if (it == jobs_.end())
    return fx;
  auto& job = it->second;
  auto before = logical_state(job);
  uncount_load(job.record);
  job.record = std::move(committed);
  count_load(job.record);
  if (delivered) {
    add_notice(fx, job, v1::JobEvent::IMAGE, *delivered);
    if (!fx.notices.empty())
      fx.notices.back().with_image = true;
  }
  auto after = logical_state(job);
  if (before == after)
    return fx;
  fx.changed = state_change{id,
                            job.record.owner_user_id(),
                            job.record.images_size(),
                            before,
                            after,
                            after == v1::FAILED ? job.record.failure_reason() : std::string{}};
  add_notice(fx, job, v1::JobEvent::STATE);
  if (is_terminal(after)) {
    fx.ended = true;
    uncount_load(job.record);
    jobs_.erase(it);
  }
  return fx;
}

std::optional<v1::JobStatus> job_book::watch(const uuid& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end())
    return std::nullopt;
  it->second.watched = true;
  return status(it->second, nullptr);
}

const active_job* job_book::find(const uuid& id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

v1::JobStatus job_book::status(const active_job& job, const queue_estimate* estimate) const {
  auto s = make_status(job.record, job.live, estimate);
  if (s.state() == v1::QUEUED && job.started)
    s.set_state(v1::RUNNING);
  s.set_images_restarted(job.restarted);
  return s;
}

requester_load job_book::load_of(uint64_t user) const {
  auto it = loads_.find(user);
  return it == loads_.end() ? requester_load{} : it->second;
}

void job_book::count_load(const v1::JobRecord& record) {
  add_job(loads_[record.owner_user_id()], record);
}

void job_book::uncount_load(const v1::JobRecord& record) {
  auto it = loads_.find(record.owner_user_id());
  if (it == loads_.end())
    return;
  remove_job(it->second, record);
  if (it->second.jobs == 0)
    loads_.erase(it);
}

void job_book::add_notice(book_effects& fx, const active_job& job, v1::JobEvent::Kind kind, uint32_t index,
                          uint32_t step, uint32_t total) const {
  if (!job.watched)
    return;
  notice n;
  n.event.set_kind(kind);
  *n.event.mutable_status() = status(job, nullptr);
  n.event.set_image_index(index);
  n.event.set_step(step);
  n.event.set_total_steps(total);
  fx.notices.push_back(std::move(n));
}

}  // namespace crowdiff::broker
