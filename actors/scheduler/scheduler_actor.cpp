#include "actors/scheduler/scheduler_actor.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

#include <caf/all.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/scheduler/detail/scheduler_internals.hpp"
#include "actors/scheduler/scheduler_state.hpp"
#include "common/log.hpp"
#include "common/utf8.hpp"
#include "persistence/user_table.hpp"
#include "persistence/worker_table.hpp"
#include "protocol/errors.hpp"

namespace crowdiff {
namespace {

using namespace scheduler_detail;

bool printable(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return false;
  return valid_utf8(s);
}

// Requests name workers by name or by id (a decimal number), so a name must never read as an id.
bool looks_like_id(const std::string& name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<scheduling::model_slot> model_slots(scheduling::allocator& alloc,
                                                const v1::WorkerRegistration& reg) {
  std::vector<scheduling::model_slot> out;
  for (const auto& m : reg.models())
    out.push_back({alloc.intern(m.name()), m.loaded(), m.load_ms(), m.mps_per_s()});
  return out;
}

scheduling::worker_state to_worker_state(scheduling::allocator& alloc, uint64_t id,
                                         const v1::WorkerRegistration& reg) {
  scheduling::worker_state w;
  w.id = id;
  w.owner = reg.owner_user_id();
  w.name = reg.name();
  w.models = model_slots(alloc, reg);
  w.max_pixels = reg.max_pixels();
  for (const auto& f : reg.features())
    w.features |= scheduling::feature_bit(f);
  w.nsfw = reg.nsfw();
  w.mps_per_s = reg.mps_per_s() > 0 ? reg.mps_per_s() : 1.0;
  w.slots = reg.slots() == 0 ? 1 : reg.slots();
  return w;
}

std::vector<scheduling::task> tasks_of(scheduling::allocator& alloc, const v1::JobRecord& record) {
  std::vector<scheduling::task> out;
  auto job = uuid::from_bytes(record.id());
  if (!job)
    return out;
  auto request = std::make_shared<const v1::JobRequest>(record.request());
  std::vector<scheduling::model_id> models;
  for (const auto& m : record.request().models())
    models.push_back(alloc.intern(m));
  const uint32_t features = scheduling::required_features(record.request());
  for (int i = 0; i < record.images_size(); ++i) {
    if (record.images(i).state() != v1::IMAGE_PENDING && record.images(i).state() != v1::IMAGE_RUNNING)
      continue;
    scheduling::task t;
    t.job = *job;
    t.index = static_cast<uint32_t>(i);
    t.sequence = record.sequence();
    t.order_key = alloc.order_key(record.base_priority(), record.created_ms());
    t.models = models;
    t.pixels = static_cast<uint64_t>(record.request().width()) * record.request().height();
    t.megapixel_steps = record.quote().megapixel_steps();
    t.value_mk = record.quote().value_per_image_mk();
    t.nsfw = record.request().nsfw();
    t.features = features;
    t.allow.assign(record.request().worker_allow().begin(), record.request().worker_allow().end());
    t.deny.assign(record.request().worker_deny().begin(), record.request().worker_deny().end());
    t.queued_ms = record.created_ms();
    t.expires_ms = record.expires_ms();
    t.attempts = record.images(i).attempts();
    t.owner_user_id = record.owner_user_id();
    t.seed = record.images(i).seed();
    t.request = request;
    out.push_back(std::move(t));
  }
  return out;
}

queue_estimate to_message(const scheduling::job_estimate& e) {
  return {e.position, e.waiting, e.running, e.start_ms, e.finish_ms, e.possible, e.reason};
}

// Read-modify-write of a worker's lifetime statistics through the commit queue (a worker record that is gone
// is left alone); a failure is logged under `failure_event`: statistics, never money.
void update_statistics(self_ptr self, uint64_t id, const char* failure_event,
                       std::function<void(v1::WorkerRecord&)> change) {
  self->state.writes.submit(
      *self->state.options.store, caf::actor_cast<scheduler_actor>(self),
      [id, change = std::move(change)](persistence::write_txn& txn) -> status {
        auto rec = persistence::worker_table::get(txn, id);
        if (!rec)
          return rec.error();
        if (!rec->has_value())
          return status::ok();
        change(**rec);
        return persistence::worker_table::put(txn, **rec);
      },
      [id, failure_event](const status& s) {
        if (!s)
          log::error(failure_event).kv("worker", id).kv("error", s.to_string());
      });
}

// Adds the worker's time online since it was last counted to its record (a statistic: pay is per owner,
// pay_uptime).
void record_uptime(self_ptr self, scheduler_state::live_worker& w, uint64_t id, int64_t now) {
  if (now <= w.uptime_paid_ms)
    return;
  int64_t seconds = (now - w.uptime_paid_ms) / 1000;
  w.uptime_paid_ms = now;
  if (seconds <= 0)
    return;
  update_statistics(self, id, "worker_uptime_write_failed", [seconds](v1::WorkerRecord& r) {
    r.set_uptime_s(r.uptime_s() + static_cast<uint64_t>(seconds));
  });
}

// Pays uptime per owner for its serving workers (uptime_pay decides who and how many); the Ledger turns each
// payment into kudos.
void pay_uptime(self_ptr self, int64_t now) {
  auto& st = self->state;
  std::vector<scheduling::uptime_worker> live;
  live.reserve(st.workers.size());
  for (const auto& [id, w] : st.workers) {
    const auto* ws = st.alloc.workers().find(id);
    live.push_back({w.registration.owner_user_id(), ws != nullptr && ws->maintenance, w.last_credit_ms});
  }
  for (const auto& p : st.uptime->due(live, now))
    self->send(st.options.ledger, uptime_atom::value, p.owner, uint64_t{p.workers}, p.from_ms, p.to_ms);
}

// An owner's edit of a worker's record (maintenance, info), answered once it is durable; maintenance then
// takes effect in the allocator too. Only the worker's owner may edit it.
caf::result<pb<v1::WorkerRecord>> edit_worker(self_ptr self, uint64_t id, uint64_t by_user,
                                              v1::WorkerChanges changes) {
  auto rp = self->make_response_promise<pb<v1::WorkerRecord>>();
  auto edited = std::make_shared<v1::WorkerRecord>();
  self->state.writes.submit(
      *self->state.options.store, caf::actor_cast<scheduler_actor>(self),
      [id, by_user, changes, edited](persistence::write_txn& txn) -> status {
        auto rec = persistence::worker_table::get(txn, id);
        if (!rec)
          return rec.error();
        if (!rec->has_value())
          return status{errc::not_found, "no such worker"};
        if ((*rec)->registration().owner_user_id() != by_user)
          return status{errc::permission_denied, "only the worker's owner can change it"};
        if (changes.has_maintenance())
          (*rec)->set_maintenance(changes.maintenance());
        if (changes.has_info())
          (*rec)->set_info(changes.info());
        *edited = **rec;
        return persistence::worker_table::put(txn, **rec);
      },
      [self, rp, id, changes, edited](const status& s) mutable {
        if (!s) {
          rp.deliver(to_error(s));
          return;
        }
        if (changes.has_maintenance()) {
          scheduling::decisions d;
          self->state.alloc.set_maintenance(id, changes.maintenance(), self->state.options.now(), d);
          log::info("worker_maintenance").kv("worker", id).kv("on", changes.maintenance());
          apply(self, d);
        }
        rp.deliver(pb<v1::WorkerRecord>{std::move(*edited)});
      });
  return rp;
}

// What the Broker credited a worker for a settled image, added to its lifetime statistics. Written apart
// from the settlement (the kudos themselves are in the ledger's transaction): statistics, not money.
void credit_worker(self_ptr self, uint64_t id, double megapixel_steps, int64_t credited_mk) {
  update_statistics(self, id, "worker_credit_write_failed",
                    [megapixel_steps, credited_mk](v1::WorkerRecord& r) {
                      r.set_images_done(r.images_done() + 1);
                      r.set_megapixel_steps_done(r.megapixel_steps_done() + megapixel_steps);
                      r.set_kudos_earned_mk(r.kudos_earned_mk() + credited_mk);
                    });
}

}  // namespace

namespace scheduler_detail {

// A fault on the worker's record (AI Horde's `uncompleted_jobs`); `rejected` when it was its image that
// failed the check. Statistics, written apart like the credits.
void count_fault(self_ptr self, uint64_t id, bool rejected) {
  update_statistics(self, id, "worker_fault_write_failed", [rejected](v1::WorkerRecord& r) {
    r.set_faults(r.faults() + 1);
    if (rejected)
      r.set_rejected_results(r.rejected_results() + 1);
  });
}

// Carries out what the allocator decided.
void apply(self_ptr self, scheduling::decisions& d) {
  auto& st = self->state;
  for (const auto& a : d.dispatch) {
    auto w = st.workers.find(a.worker);
    const auto* t = st.alloc.running_task(a.task_key);
    if (w == st.workers.end() || t == nullptr)
      continue;
    v1::TaskSpec spec;
    spec.set_job_id(a.job.to_bytes());
    spec.set_image_index(a.index);
    spec.set_assignment_id(a.id);
    *spec.mutable_request() = *t->request;
    spec.mutable_request()->set_n(1);
    spec.mutable_request()->set_seed(t->seed);
    spec.set_model(st.alloc.model_name(a.model));
    spec.set_seed(t->seed);
    spec.set_queued_ms(t->queued_ms);
    spec.set_estimated_ms(a.estimated_ms);
    spec.set_value_mk(t->value_mk);
    self->send(w->second.handle, run_atom::value, pb<v1::TaskSpec>{std::move(spec)});
    if (st.broker)
      self->send(st.broker, started_atom::value, a.job, a.index, a.worker, w->second.registration.name());
    log::debug("task_dispatched")
        .kv("job", a.job.to_string())
        .kv("image", a.index)
        .kv("worker", a.worker)
        .kv("assignment", a.id)
        .kv("backup", a.backup)
        .kv("estimated_ms", a.estimated_ms);
  }
  for (const auto& a : d.cancel) {
    if (auto w = st.workers.find(a.worker); w != st.workers.end())
      self->send(w->second.handle, cancel_atom::value, a.id);
  }
  for (const auto& f : d.failed)
    if (st.broker)
      self->send(st.broker, failed_atom::value, f.job, f.index, make_error(f.code, f.reason));
  for (const auto& r : d.requeued)
    if (st.broker)
      self->send(st.broker, requeued_atom::value, r.job, r.index);
  d = {};
}

}  // namespace scheduler_detail

namespace {

// The catalog is the models live workers serve: a name enters when a worker that serves it joins and leaves
// with the last one, so names a stranger makes up do not pile up. At most max_catalog_models names.
void publish_catalog(self_ptr self) {
  auto& st = self->state;
  std::set<std::string> now;
  bool capped = false;
  for (const auto& [id, w] : st.workers)
    for (const auto& m : w.registration.models()) {
      if (now.size() < st.options.max_catalog_models || now.count(m.name()) != 0)
        now.insert(m.name());
      else
        capped = true;
    }
  if (capped)
    log::warning("catalog_full").kv("models", now.size());
  if (now == st.catalog)
    return;
  st.catalog = std::move(now);
  if (st.broker)
    self->send(st.broker, catalog_atom::value,
               std::vector<std::string>(st.catalog.begin(), st.catalog.end()));
}

void drop_worker(self_ptr self, uint64_t id, const char* why) {
  auto& st = self->state;
  auto it = st.workers.find(id);
  if (it == st.workers.end())
    return;
  int64_t now = st.options.now();
  record_uptime(self, it->second, id, now);
  st.by_address.erase(it->second.address);
  self->demonitor(it->second.handle.address());
  st.workers.erase(it);
  scheduling::decisions d;
  st.alloc.remove_worker(id, now, d);
  log::info("worker_leave").kv("worker", id).kv("reason", why).kv("requeued", d.requeued.size());
  apply(self, d);
  publish_catalog(self);
  // Lifetime statistics keep the worker; it is only marked offline.
  self->state.writes.submit(
      *st.options.store, caf::actor_cast<scheduler_actor>(self),
      [id, now](persistence::write_txn& txn) -> status {
        auto rec = persistence::worker_table::get(txn, id);
        if (!rec)
          return rec.error();
        if (!rec->has_value())
          return status::ok();
        (*rec)->set_online(false);
        (*rec)->set_last_seen_ms(now);
        return persistence::worker_table::put(txn, **rec);
      },
      [id](const status& s) {
        if (!s)
          log::error("worker_offline_write_failed").kv("worker", id).kv("error", s.to_string());
      });
}

}  // namespace

namespace scheduler_detail {

// True when the message really comes from worker `id`: a worker cannot speak for another.
bool from_worker(self_ptr self, uint64_t id) {
  auto sender = self->current_sender();
  if (!sender)
    return false;
  auto it = self->state.by_address.find(caf::actor_cast<caf::actor_addr>(sender));
  return it != self->state.by_address.end() && it->second == id;
}

}  // namespace scheduler_detail

status validate_registration(const v1::WorkerRegistration& r) {
  if (r.name().empty() || r.name().size() > 128 || !printable(r.name()))
    return status{errc::invalid_argument, "a worker name has 1 to 128 printable characters"};
  if (looks_like_id(r.name()))
    return status{errc::invalid_argument,
                  "a worker name cannot be only digits: requests would read it as a worker id"};
  if (r.models_size() == 0 || r.models_size() > 256)
    return status{errc::invalid_argument, "a worker offers 1 to 256 models"};
  for (const auto& m : r.models()) {
    if (m.name().empty() || m.name().size() > 128 || !printable(m.name()))
      return status{errc::invalid_argument, "model names have 1 to 128 printable characters"};
    if (!std::isfinite(m.mps_per_s()) || m.mps_per_s() < 0 || m.mps_per_s() > 1e4)
      return status{errc::invalid_argument, "model speed out of range"};
  }
  if (r.max_pixels() < 64 * 64 || r.max_pixels() > (1ull << 32))
    return status{errc::invalid_argument, "max_pixels must be between 4096 and 2^32"};
  if (r.slots() > 64)
    return status{errc::invalid_argument, "a worker has at most 64 slots"};
  if (!std::isfinite(r.mps_per_s()) || r.mps_per_s() < 0 || r.mps_per_s() > 1e4)
    return status{errc::invalid_argument, "worker speed out of range"};
  if (r.features_size() > 64 || r.device().size() > 256 || r.version().size() > 128)
    return status{errc::invalid_argument, "worker registration too large"};
  return status::ok();
}

scheduler_actor::behavior_type scheduler_fn(scheduler_detail::self_ptr self, scheduler_options options) {
  self->state.options = std::move(options);
  self->state.uptime.emplace(self->state.options.uptime);
  self->state.alloc = scheduling::allocator{self->state.options.allocation};
  self->state.last_uptime_ms = self->state.options.now();
  self->set_down_handler([self](caf::down_msg& msg) {
    auto it = self->state.by_address.find(msg.source);
    if (it != self->state.by_address.end())
      drop_worker(self, it->second, "down");
  });
  self->delayed_send(self, self->state.options.tick_interval, tick_atom::value);
  auto me = caf::actor_cast<scheduler_actor>(self);

  return {
      [self, me](join_atom, pb<v1::WorkerRegistration>& reg,
                 const worker_actor& handle) -> caf::result<uint64_t> {
        auto& st = self->state;
        if (!handle)
          return make_error(errc::invalid_argument, "a worker joins with its handle");
        if (auto v = validate_registration(reg.value); !v)
          return to_error(v);
        {
          auto txn = st.options.store->read();
          if (!txn)
            return to_error(txn.error());
          auto owner = persistence::user_table::get(**txn, reg.value.owner_user_id());
          if (!owner)
            return to_error(owner.error());
          if (!owner->has_value())
            return make_error(errc::unauthenticated, "the worker's owner is unknown");
          if ((*owner)->anonymous())
            return make_error(errc::permission_denied, "the anonymous account cannot run workers");
        }
        auto rp = self->make_response_promise<uint64_t>();
        auto record = std::make_shared<v1::WorkerRecord>();
        int64_t now = st.options.now();
        auto registration = reg.value;
        st.writes.submit(
            *st.options.store, me,
            [registration, record, now](persistence::write_txn& txn) -> status {
              auto r = persistence::worker_table::upsert(txn, registration, now);
              if (!r)
                return r.error();
              *record = *r;
              return status::ok();
            },
            [self, rp, record, handle, registration](const status& outcome) mutable {
              if (!outcome) {
                rp.deliver(to_error(outcome));
                return;
              }
              auto& s = self->state;
              uint64_t id = record->id();
              int64_t t = s.options.now();
              if (auto old = s.workers.find(id); old != s.workers.end()) {
                // The same worker again (a reconnect): its old session ends here, without paying anything
                // twice.
                record_uptime(self, old->second, id, t);
                s.by_address.erase(old->second.address);
                self->demonitor(old->second.handle.address());
              }
              auto& live = s.workers[id];
              live.handle = handle;
              live.address = caf::actor_cast<caf::actor_addr>(handle);
              live.registration = registration;
              live.joined_ms = t;
              live.uptime_paid_ms = t;
              s.by_address[live.address] = id;
              self->monitor(handle);
              rp.deliver(id);
              log::info("worker_join")
                  .kv("worker", id)
                  .kv("name", registration.name())
                  .kv("owner", registration.owner_user_id())
                  .kv("models", registration.models_size())
                  .kv("mps_per_s", registration.mps_per_s())
                  .kv("device", registration.device());
              publish_catalog(self);
              scheduling::decisions d;
              auto state = to_worker_state(s.alloc, id, registration);
              state.maintenance = record->maintenance();  // a paused worker stays paused across reconnects
              s.alloc.add_worker(std::move(state), t, d);
              apply(self, d);
            });
        return rp;
      },
      [self](leave_atom, uint64_t id) {
        if (from_worker(self, id))
          drop_worker(self, id, "left");
      },
      [self](progress_atom, uint64_t worker, uint64_t assignment, uint32_t step, uint32_t total) {
        if (!from_worker(self, worker))
          return;
        const auto* a = self->state.alloc.find_assignment(assignment);
        if (a == nullptr || a->worker != worker || step > total)
          return;
        if (self->state.broker)
          self->send(self->state.broker, progress_atom::value, a->job, a->index, step, total);
      },
      [self](result_atom, uint64_t worker, uint64_t assignment, pb<v1::GenerationResult>& result) {
        receive_result(self, worker, assignment, std::move(result.value));
      },
      [self](fault_atom, uint64_t worker, uint64_t assignment, const caf::error& fault) {
        if (!from_worker(self, worker))
          return;
        // A remote worker's error is outside text: its code must be one of ours and its message UTF-8 (it is
        // stored with the job), cut between characters.
        auto reported = to_status(fault);
        auto code = reported.code();
        if (code == errc::ok || static_cast<unsigned>(code) > static_cast<unsigned>(errc::unsupported))
          code = errc::generation_failed;
        auto reason = std::string(truncate_utf8(to_valid_utf8(reported.message()), 1000));
        auto& st = self->state;
        const auto* a = st.alloc.find_assignment(assignment);
        if (a != nullptr)
          log::warning("task_fault")
              .kv("job", a->job.to_string())
              .kv("image", a->index)
              .kv("worker", worker)
              .kv("code", to_string(code))
              .kv("reason", reason);
        if (a == nullptr || a->worker != worker)
          return;
        count_fault(self, worker, false);
        scheduling::decisions d;
        st.alloc.fault(assignment, worker, code, reason, st.options.now(), d);
        apply(self, d);
      },
      [self](models_atom, uint64_t worker, pb<v1::WorkerRegistration>& reg) {
        if (!from_worker(self, worker))
          return;
        auto& st = self->state;
        if (!validate_registration(reg.value))
          return;
        auto it = st.workers.find(worker);
        if (it == st.workers.end())
          return;
        // Only the model list may change this way; identity and owner stay.
        *it->second.registration.mutable_models() = reg.value.models();
        publish_catalog(self);
        scheduling::decisions d;
        st.alloc.update_models(worker, model_slots(st.alloc, it->second.registration), st.options.now(), d);
        apply(self, d);
      },
      [self](attach_atom, const broker_actor& broker) {
        self->state.broker = broker;
        self->send(broker, catalog_atom::value,
                   std::vector<std::string>(self->state.catalog.begin(), self->state.catalog.end()));
      },
      [self](enqueue_atom, const pb<v1::JobRecord>& record) -> queue_estimate {
        auto& st = self->state;
        int64_t now = st.options.now();
        scheduling::decisions d;
        for (auto& t : tasks_of(st.alloc, record.value))
          st.alloc.add_task(std::move(t), now, d);
        apply(self, d);
        auto job = uuid::from_bytes(record.value.id());
        if (!job)
          return {};
        return to_message(st.alloc.estimate(*job, now));
      },
      [self](cancel_atom, const uuid& job) {
        auto& st = self->state;
        scheduling::decisions d;
        st.alloc.cancel_job(job, st.options.now(), d);
        apply(self, d);
      },
      [self](estimate_atom, const uuid& job) -> queue_estimate {
        return to_message(self->state.alloc.estimate(job, self->state.options.now()));
      },
      [self](workers_atom) -> worker_summaries {
        auto txn = self->state.options.store->read();
        worker_summaries out;
        const auto& pool = self->state.alloc.workers();
        for (const auto& [id, live] : self->state.workers) {
          worker_summary s;
          s.id = id;
          s.name = live.registration.name();
          s.owner = live.registration.owner_user_id();
          for (const auto& m : live.registration.models()) {
            if (!s.models.empty())
              s.models += ",";
            s.models += m.name();
          }
          if (const auto* w = pool.find(id)) {
            s.mps_per_s = w->mps_per_s;
            s.slots = w->slots;
            s.busy = w->busy;
          }
          s.device = live.registration.device();
          if (txn) {
            if (auto rec = persistence::worker_table::get(**txn, id); rec && rec->has_value()) {
              s.images_done = (*rec)->images_done();
              s.kudos_earned_mk = (*rec)->kudos_earned_mk();
            }
          }
          out.push_back(std::move(s));
        }
        return out;
      },
      [self](edit_atom, uint64_t worker, uint64_t by_user, pb<v1::WorkerChanges>& changes) {
        return edit_worker(self, worker, by_user, std::move(changes.value));
      },
      [self](credit_atom, uint64_t worker, double megapixel_steps, int64_t credited_mk) {
        auto& st = self->state;
        if (auto w = st.workers.find(worker); w != st.workers.end() && credited_mk > 0)
          w->second.last_credit_ms = st.options.now();  // paid work for someone else: it serves (uptime_pay)
        credit_worker(self, worker, megapixel_steps, credited_mk);
      },
      [self](load_atom) -> scheduler_load {
        auto& st = self->state;
        scheduler_load l;
        l.queued_images = static_cast<uint32_t>(st.alloc.queue().size());
        l.queued_megapixel_steps = st.alloc.queue().total_work();
        l.running_images = static_cast<uint32_t>(st.alloc.running());
        l.worker_count = static_cast<uint32_t>(st.alloc.workers().size());
        for (const auto& [id, w] : st.alloc.workers().all())
          l.slot_count += w.slots;
        int64_t cutoff = st.options.now() - 60'000;
        for (const auto& [ms, mps] : st.delivered)
          if (ms >= cutoff)
            l.past_minute_megapixel_steps += mps;
        return l;
      },
      [self](model_stats_atom) -> model_stats {
        auto& st = self->state;
        auto demand = st.alloc.demand_by_model();
        model_stats out;
        for (const auto& name : st.catalog) {
          model_stat m;
          m.name = name;
          auto id = st.alloc.intern(name);
          double speed = 0;
          for (auto w : st.alloc.workers().serving(id)) {
            if (const auto* ws = st.alloc.workers().find(w)) {
              ++m.workers;
              const auto* slot = ws->find_model(id);
              speed += slot != nullptr && slot->mps_per_s > 0 ? slot->mps_per_s : ws->mps_per_s;
            }
          }
          m.performance = m.workers > 0 ? speed / m.workers : 0;
          if (auto d = demand.find(id); d != demand.end()) {
            m.queued = d->second.queued_megapixel_steps;
            m.jobs = d->second.images;
          }
          m.eta_s = speed > 0 ? static_cast<int64_t>(m.queued / speed) : (m.queued > 0 ? 10'000 : 0);
          out.push_back(std::move(m));
        }
        return out;
      },
      [self](committed_atom, uint64_t id, const caf::error& outcome) {
        self->state.writes.resume(id, outcome);
      },
      [self](tick_atom) {
        auto& st = self->state;
        int64_t now = st.options.now();
        scheduling::decisions d;
        st.alloc.tick(now, d);
        apply(self, d);
        if (now - st.last_uptime_ms >= st.options.uptime_interval.count()) {
          st.last_uptime_ms = now;
          for (auto& [id, live] : st.workers)
            record_uptime(self, live, id, now);
          pay_uptime(self, now);
        }
        self->delayed_send(self, st.options.tick_interval, tick_atom::value);
      },
  };
}

}  // namespace crowdiff
