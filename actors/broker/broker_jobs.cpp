// The broker's jobs: logical states, store updates, notifications, recovery.
#include <caf/all.hpp>
#include <sodium.h>

#include "actors/broker/detail/broker_internals.hpp"
#include "actors/broker/job_status.hpp"
#include "common/log.hpp"
#include "persistence/job_table.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/quarantine_table.hpp"
#include "persistence/result_table.hpp"
#include "persistence/worker_table.hpp"
#include "protocol/errors.hpp"

namespace crowdiff::broker_detail {

using persistence::job_table;

std::string state_name(v1::JobState s) {
  auto name = v1::JobState_Name(s);
  for (auto& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// The state a requester sees: QUEUED becomes RUNNING once a worker has started on the job.
v1::JobState logical_state(const job_entry& e) {
  auto stored = e.record.state();
  return stored == v1::QUEUED && e.started ? v1::RUNNING : stored;
}

// A status for an active job, in its logical state.
v1::JobStatus active_status(const job_entry& e, const queue_estimate* estimate) {
  auto s = broker::make_status(e.record, e.live, estimate);
  if (s.state() == v1::QUEUED && e.started)
    s.set_state(v1::RUNNING);
  s.set_images_restarted(e.restarted);
  return s;
}

void log_state(const v1::JobRecord& record, v1::JobState from, v1::JobState to) {
  auto line = log::info("job_state");
  line.kv("job", uuid::from_bytes(record.id())->to_string())
      .kv("user", record.owner_user_id())
      .kv("from", state_name(from))
      .kv("to", state_name(to))
      .kv("images", record.images_size());
  if (to == v1::FAILED)
    line.kv("reason", record.failure_reason());
}

// When every image has an outcome, the job has one too.
void resolve(v1::JobRecord& r, int64_t now) {
  bool any_failed = false;
  bool any_cancelled = false;
  for (const auto& slot : r.images()) {
    switch (slot.state()) {
      case v1::IMAGE_DONE:
        break;
      case v1::IMAGE_FAILED:
        any_failed = true;
        break;
      case v1::IMAGE_CANCELLED:
        any_cancelled = true;
        break;
      default:
        return;
    }
  }
  r.set_state(any_failed ? v1::FAILED : any_cancelled ? v1::CANCELLED : v1::DONE);
  r.set_finished_ms(now);
  if (any_failed && r.failure_reason().empty()) {
    for (const auto& slot : r.images()) {
      if (slot.state() == v1::IMAGE_FAILED) {
        r.set_failure_code(slot.failure_code());
        r.set_failure_reason(slot.failure_reason());
        break;
      }
    }
  }
}

// Read-modify-write of a stored job through the group-commit queue; `then` runs in the actor with the record
// as committed.
void update_job(self_ptr self, const uuid& id, mutation m,
                std::function<void(const status&, v1::JobRecord&)> then) {
  auto out = std::make_shared<v1::JobRecord>();
  auto& st = self->state;
  st.writes.submit(
      *st.options.store, caf::actor_cast<broker_actor>(self),
      [id, m = std::move(m), out](persistence::write_txn& txn) -> status {
        auto rec = job_table::get(txn, id);
        if (!rec)
          return rec.error();
        if (!rec->has_value())
          return status{errc::not_found, "no job " + id.to_string()};
        v1::JobRecord r = std::move(**rec);
        CROWDIFF_RETURN_IF_ERROR(m(r, txn));
        CROWDIFF_RETURN_IF_ERROR(job_table::put(txn, r));
        *out = std::move(r);
        return status::ok();
      },
      [then = std::move(then), out](const status& s) { then(s, *out); });
}

void notify(self_ptr self, job_entry& e, v1::JobEvent::Kind kind, uint32_t index, uint32_t step,
            uint32_t total) {
  if (e.subscribers.empty())
    return;
  v1::JobEvent ev;
  ev.set_kind(kind);
  *ev.mutable_status() = active_status(e, nullptr);
  ev.set_image_index(index);
  ev.set_step(step);
  ev.set_total_steps(total);
  pb<v1::JobEvent> event{std::move(ev)};
  // Subscribers are clients of any kind (dynamically typed), so they are sent to anonymously.
  for (const auto& s : e.subscribers)
    caf::anon_send(s, event_atom::value, event);
  (void)self;
}

// The job reached its end: tell everyone and forget it (the store keeps it).
void finish(self_ptr self, const uuid& id) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end())
    return;
  notify(self, it->second, v1::JobEvent::STATE);
  forget_owner(st, it->second.record.owner_user_id(), id);
  st.jobs.erase(it);
}

// Logs a state change of an active job, and finishes it when the state is final.
void on_state_change(self_ptr self, const uuid& id, v1::JobState before) {
  auto it = self->state.jobs.find(id);
  if (it == self->state.jobs.end())
    return;
  auto after = logical_state(it->second);
  if (before == after)
    return;
  log_state(it->second.record, before, after);
  if (broker::is_terminal(after))
    finish(self, id);
  else
    notify(self, it->second, v1::JobEvent::STATE);
}

// Applies a committed record to the entry.
void adopt(self_ptr self, const uuid& id, v1::JobRecord& record) {
  auto it = self->state.jobs.find(id);
  if (it == self->state.jobs.end())
    return;
  auto before = logical_state(it->second);
  it->second.record = std::move(record);
  on_state_change(self, id, before);
}

result<v1::JobStatus> stored_status(self_ptr self, const uuid& id) {
  auto txn = self->state.options.store->read();
  if (!txn)
    return txn.error();
  auto rec = job_table::get(**txn, id);
  if (!rec)
    return rec.error();
  if (!rec->has_value())
    return status{errc::not_found, "no job " + id.to_string()};
  return broker::make_status(**rec, {}, nullptr);
}

void enqueue(self_ptr self, const v1::JobRecord& record) {
  self->request(self->state.options.scheduler, caf::infinite, enqueue_atom::value, pb<v1::JobRecord>{record})
      .then([](const queue_estimate&) {},
            [id = record.id()](const caf::error& e) {
              log::error("enqueue_failed")
                  .kv("job", uuid::from_bytes(id)->to_string())
                  .kv("error", to_string(e));
            });
}

uint64_t random_seed() {
  uint32_t s = 0;
  randombytes_buf(&s, sizeof s);
  return s;
}

void quarantine(self_ptr self, std::string_view scan, std::vector<persistence::bad_record> bad) {
  if (bad.empty())
    return;
  auto& st = self->state;
  auto records = std::make_shared<std::vector<persistence::bad_record>>(std::move(bad));
  auto ids = std::make_shared<std::vector<std::optional<uint64_t>>>();
  int64_t now = st.options.now();
  st.writes.submit(
      *st.options.store, caf::actor_cast<broker_actor>(self),
      [records, ids, now](persistence::write_txn& txn) -> status {
        auto moved = persistence::quarantine_table::move_aside(txn, *records, now);
        if (!moved)
          return moved.error();
        *ids = std::move(*moved);
        return status::ok();
      },
      [scan = std::string(scan), records, ids](const status& s) {
        persistence::log_moved_aside(scan, *records, *ids, s);
      });
}

void recover(self_ptr self) {
  auto& st = self->state;
  auto txn = st.options.store->read();
  if (!txn) {
    log::error("recovery_failed").kv("error", txn.error().to_string());
    return;
  }
  auto seq = persistence::read_counter(**txn, persistence::meta_keys::next_job_sequence);
  st.next_sequence = seq ? *seq : 0;
  for (const auto& m : st.options.config.models())
    st.catalog.insert(m);
  // What cannot be decoded is skipped here and moved aside below, so one bad record never costs the others.
  // Stored workers count in the totals; their models join the catalog only when they are back online.
  std::vector<persistence::bad_record> bad;
  auto ws = persistence::worker_table::scan(
      **txn,
      [&](v1::WorkerRecord& w) {
        st.total_images += w.images_done();
        st.total_pixel_steps += w.megapixel_steps_done() * 1e6;
        return true;
      },
      persistence::collect_into(bad));
  if (!ws)
    log::error("recovery_failed").kv("error", ws.to_string());
  size_t recovered = 0;
  for (auto state : {v1::QUEUED, v1::RUNNING}) {
    auto s = job_table::scan_state(
        **txn, state,
        [&](v1::JobRecord& r) {
          auto id = uuid::from_bytes(r.id());
          if (!id)
            return true;
          job_entry e;
          e.record = r;
          e.live.resize(static_cast<size_t>(r.images_size()));
          e.started = r.state() == v1::RUNNING;
          for (const auto& slot : r.images())
            e.started |= slot.state() == v1::IMAGE_DONE || slot.state() == v1::IMAGE_FAILED;
          st.jobs_by_user[r.owner_user_id()].insert(*id);
          st.jobs.emplace(*id, std::move(e));
          ++recovered;
          return true;
        },
        persistence::collect_into(bad));
    if (!s)
      log::error("recovery_failed").kv("error", s.to_string());
  }
  txn = status{errc::cancelled, "released"};
  // Everything acknowledged before a crash waits again, in its original order and priority.
  for (const auto& [id, e] : st.jobs)
    enqueue(self, e.record);
  log::info("broker_recovered")
      .kv("jobs", recovered)
      .kv("models", st.catalog.size())
      .kv("quarantined", bad.size());
  quarantine(self, "recovery", std::move(bad));
}

// Counts a delivered image in the per-minute statistics.
void forget_owner(broker_state& st, uint64_t owner, const uuid& id) {
  auto it = st.jobs_by_user.find(owner);
  if (it == st.jobs_by_user.end())
    return;
  it->second.erase(id);
  if (it->second.empty())
    st.jobs_by_user.erase(it);
}

broker::requester_load load_of(const broker_state& st, uint64_t user) {
  broker::requester_load load;
  auto it = st.jobs_by_user.find(user);
  if (it == st.jobs_by_user.end())
    return load;
  for (const auto& id : it->second)
    if (auto job = st.jobs.find(id); job != st.jobs.end())
      broker::add_job(load, job->second.record);
  return load;
}

void record_delivery(self_ptr self, double megapixel_steps) {
  auto& st = self->state;
  int64_t minute = st.options.now() / 60'000;
  if (st.delivered.empty() || st.delivered.back().minute != minute)
    st.delivered.push_back({minute, 0, 0});
  st.delivered.back().images += 1;
  st.delivered.back().pixel_steps += megapixel_steps * 1e6;
  st.total_images += 1;
  st.total_pixel_steps += megapixel_steps * 1e6;
  while (!st.delivered.empty() && st.delivered.front().minute < minute - 31 * 1440)
    st.delivered.pop_front();
}

}  // namespace crowdiff::broker_detail
