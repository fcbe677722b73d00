#include "actors/broker/broker_actor.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include <caf/all.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <sodium.h>

#include "actors/broker/broker_state.hpp"
#include "actors/broker/detail/broker_internals.hpp"
#include "actors/broker/request_validation.hpp"
#include "actors/detail/authenticate.hpp"
#include "actors/ledger/pricing.hpp"
#include "common/log.hpp"
#include "models/sampling/sampler_table.hpp"
#include "persistence/job_table.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/quarantine_table.hpp"
#include "persistence/result_table.hpp"
#include "persistence/webhook_table.hpp"
#include "persistence/worker_table.hpp"
#include "protocol/errors.hpp"

namespace crowdiff {

using namespace broker_detail;
using persistence::job_table;

namespace {

// The requester behind a key, as admission sees them: validated request, balance and what is in flight.
result<std::pair<detail::principal, broker::requester>> requester_of(self_ptr self,
                                                                     const std::string& api_key,
                                                                     const v1::JobRequest& request) {
  auto& st = self->state;
  auto who = detail::authenticate(*st.options.store, api_key);
  if (!who)
    return who.error();
  if (auto v = broker::validate_request(request, st.options.config.limits(), st.catalog); !v)
    return v;
  broker::requester r;
  r.anonymous = who->anonymous;
  r.load = load_of(st, who->user_id);
  if (!who->anonymous) {
    auto txn = st.options.store->read();
    if (!txn)
      return txn.error();
    auto balance = persistence::ledger_book::balance(**txn, who->user_id);
    if (!balance)
      return balance.error();
    r.balance_mk = balance->balance_mk();
  }
  return std::pair{*who, r};
}

// Whether `job`'s webhook is still owed its `done` (the gateway's watchers say when it was delivered or given
// up on). The Broker is the table's only writer; errors are logged.
void record_owed(self_ptr self, const uuid& job, bool owed) {
  self->state.writes.submit(
      *self->state.options.store, caf::actor_cast<broker_actor>(self),
      [job, owed](persistence::write_txn& txn) {
        return owed ? persistence::webhook_table::owe(txn, job)
                    : persistence::webhook_table::settle(txn, job);
      },
      [job, owed](const status& s) {
        if (!s)
          log::error(owed ? "webhook_owed_not_recorded" : "webhook_owed_not_cleared")
              .kv("job", job.to_string())
              .kv("error", s.to_string());
      });
}

}  // namespace

broker_actor::behavior_type broker_fn(self_ptr self, broker_options options) {
  self->state.options = std::move(options);
  static const bool sodium_ready = sodium_init() >= 0;
  (void)sodium_ready;
  self->send(self->state.options.scheduler, attach_atom::value, caf::actor_cast<broker_actor>(self));
  recover(self);
  self->delayed_send(self, self->state.options.sweep_interval, tick_atom::value);

  return {
      [self](quote_atom, const std::string& api_key,
             pb<v1::JobRequest>& request) -> caf::result<pb<v1::KudosQuote>> {
        auto who = requester_of(self, api_key, request.value);
        if (!who)
          return to_error(who.error());
        auto quoted = broker::quote_for(std::move(request.value), who->second, self->state.options.config);
        if (!quoted)
          return to_error(quoted.error());
        return pb<v1::KudosQuote>{std::move(quoted->quote)};
      },
      [self](submit_atom, const std::string& api_key,
             pb<v1::JobRequest>& request) -> caf::result<pb<v1::SubmitReply>> {
        auto& st = self->state;
        const auto& cfg = st.options.config;
        auto who = requester_of(self, api_key, request.value);
        if (!who)
          return to_error(who.error());
        auto admission = broker::admit(std::move(request.value), who->second, cfg);
        if (!admission)
          return to_error(admission.error());
        auto& req = admission->request;
        auto& quote = admission->quote;
        if (admission->downgraded)
          log::info("job_downgraded")
              .kv("user", who->first.user_id)
              .kv("width", req.width())
              .kv("height", req.height())
              .kv("steps", req.steps());
        double priority = who->first.anonymous ? cfg.ledger().anonymous_priority()
                                               : static_cast<double>(who->second.balance_mk) / 1000.0;
        int64_t now = st.options.now();
        auto record = std::make_shared<v1::JobRecord>();
        auto id = uuid::random();
        record->set_id(id.to_bytes());
        record->set_owner_user_id(who->first.user_id);
        record->set_anonymous(who->first.anonymous);
        // Everyone without a key shares the anonymous account: a key would let one stranger's submit return
        // another's job. Idempotency needs an identity.
        if (who->first.anonymous)
          req.clear_idempotency_key();
        if (!req.has_seed())
          req.set_seed(random_seed());
        if (req.sampler() == v1::SAMPLER_UNSPECIFIED)
          req.set_sampler(static_cast<v1::Sampler>(models::default_sampler.wire));
        *record->mutable_request() = std::move(req);
        record->set_state(v1::QUEUED);
        record->set_created_ms(now);
        record->set_updated_ms(now);
        record->set_sequence(++st.next_sequence);
        record->set_base_priority(priority);
        *record->mutable_quote() = quote;
        for (uint32_t i = 0; i < record->request().n(); ++i) {
          auto* slot = record->add_images();
          slot->set_state(v1::IMAGE_PENDING);
          const uint64_t step = std::max<uint32_t>(record->request().seed_variation(), 1);
          slot->set_seed(record->request().seed() + i * step);
        }
        uint64_t expiry_s = record->request().expiry_s() != 0 ? record->request().expiry_s()
                                                              : cfg.scheduler().default_expiry_s();
        record->set_expires_ms(now + static_cast<int64_t>(expiry_s) * 1000);

        auto rp = self->make_response_promise<pb<v1::SubmitReply>>();
        auto earlier = std::make_shared<std::optional<uuid>>();
        auto pending = std::make_shared<pending_submit>();
        pending->rp = rp;
        pending->record = record;
        pending->downgraded = admission->downgraded;
        admit(self, pending);
        st.writes.submit(
            *st.options.store, caf::actor_cast<broker_actor>(self),
            [record, earlier](persistence::write_txn& txn) -> status {
              const auto& key = record->request().idempotency_key();
              if (!key.empty()) {
                // A resubmission (say, after a lost connection) returns the job it created the first time.
                auto found = job_table::find_by_client_key(txn, record->owner_user_id(), key);
                if (!found)
                  return found.error();
                if (found->has_value()) {
                  *earlier = *found;
                  return status{errc::already_exists, "resubmitted"};
                }
                CROWDIFF_RETURN_IF_ERROR(job_table::put_client_key(txn, record->owner_user_id(), key,
                                                                   *uuid::from_bytes(record->id())));
              }
              CROWDIFF_RETURN_IF_ERROR(job_table::put(txn, *record));
              // From its acceptance on, a job with a webhook is owed its `done` (the gateway POSTs it, after
              // a restart too, and clears this once it is delivered or given up on).
              if (!record->request().webhook().empty())
                CROWDIFF_RETURN_IF_ERROR(
                    persistence::webhook_table::owe(txn, *uuid::from_bytes(record->id())));
              auto current = persistence::read_counter(txn, persistence::meta_keys::next_job_sequence);
              if (!current)
                return current.error();
              if (*current < record->sequence())
                return persistence::write_counter(txn, persistence::meta_keys::next_job_sequence,
                                                  record->sequence());
              return status::ok();
            },
            [self, pending, earlier](const status& outcome) {
              if (!outcome && earlier->has_value())
                pending->duplicate_of = **earlier;
              pending->stored = outcome;
              settle_submit(self, pending);
            });
        return rp;
      },
      [self](status_atom, const uuid& id) -> caf::result<pb<v1::JobStatus>> {
        auto& st = self->state;
        if (st.jobs.find(id) == st.jobs.end()) {
          auto s = stored_status(self, id);
          if (!s)
            return to_error(s.error());
          return pb<v1::JobStatus>{std::move(*s)};
        }
        auto rp = self->make_response_promise<pb<v1::JobStatus>>();
        self->request(st.options.scheduler, caf::infinite, estimate_atom::value, id)
            .then(
                [self, rp, id](const queue_estimate& est) mutable {
                  auto it = self->state.jobs.find(id);
                  if (it == self->state.jobs.end()) {
                    auto s = stored_status(self, id);
                    if (!s)
                      rp.deliver(to_error(s.error()));
                    else
                      rp.deliver(pb<v1::JobStatus>{std::move(*s)});
                    return;
                  }
                  rp.deliver(pb<v1::JobStatus>{active_status(it->second, &est)});
                },
                [rp](const caf::error& e) mutable { rp.deliver(e); });
        return rp;
      },
      [self](cancel_atom, const uuid& id) -> caf::result<pb<v1::JobStatus>> {
        auto& st = self->state;
        if (st.jobs.find(id) == st.jobs.end()) {
          auto s = stored_status(self, id);
          if (!s)
            return to_error(s.error());
          return pb<v1::JobStatus>{std::move(*s)};  // already finished: cancelling changes nothing
        }
        auto rp = self->make_response_promise<pb<v1::JobStatus>>();
        int64_t now = st.options.now();
        update_job(
            self, id,
            [now](v1::JobRecord& r, persistence::write_txn&) -> status {
              if (broker::is_terminal(r.state()))
                return status::ok();
              for (auto& slot : *r.mutable_images())
                if (slot.state() == v1::IMAGE_PENDING || slot.state() == v1::IMAGE_RUNNING)
                  slot.set_state(v1::IMAGE_CANCELLED);
              r.set_state(v1::CANCELLED);
              r.set_finished_ms(now);
              r.set_updated_ms(now);
              return status::ok();
            },
            [self, rp, id](const status& s, v1::JobRecord& r) mutable {
              if (!s) {
                rp.deliver(to_error(s));
                return;
              }
              self->send(self->state.options.scheduler, cancel_atom::value, id);
              auto status = broker::make_status(r, {}, nullptr);
              adopt(self, id, r);
              rp.deliver(pb<v1::JobStatus>{std::move(status)});
            });
        return rp;
      },
      [self](fetch_atom, const uuid& id, uint32_t index) -> caf::result<pb<v1::GenerationResult>> {
        auto txn = self->state.options.store->read();
        if (!txn)
          return to_error(txn.error());
        auto r = persistence::result_table::get(**txn, id, index);
        if (!r)
          return to_error(r.error());
        if (r->has_value())
          return pb<v1::GenerationResult>{std::move(**r)};
        auto job = job_table::get(**txn, id);
        if (!job)
          return to_error(job.error());
        if (!job->has_value())
          return make_error(errc::not_found, "no job " + id.to_string());
        if (index >= static_cast<uint32_t>((*job)->images_size()))
          return make_error(errc::invalid_argument,
                            "the job has " + std::to_string((*job)->images_size()) + " images");
        const auto& slot = (*job)->images(static_cast<int>(index));
        if (slot.state() == v1::IMAGE_DONE)
          return make_error(errc::not_found, "the image has expired");
        return make_error(errc::failed_precondition, "image " + std::to_string(index) + " is not ready");
      },
      [self](subscribe_atom, const uuid& id, const caf::actor& listener) -> caf::result<pb<v1::JobStatus>> {
        auto& st = self->state;
        auto it = st.jobs.find(id);
        if (it == st.jobs.end()) {
          auto s = stored_status(self, id);
          if (!s)
            return to_error(s.error());
          return pb<v1::JobStatus>{std::move(*s)};
        }
        if (listener)
          it->second.subscribers.push_back(listener);
        return pb<v1::JobStatus>{active_status(it->second, nullptr)};
      },
      [self](started_atom, const uuid& id, uint32_t index, uint64_t worker, const std::string& worker_name) {
        auto& st = self->state;
        auto it = st.jobs.find(id);
        if (it == st.jobs.end() || index >= it->second.live.size())
          return;
        auto& e = it->second;
        e.live[index] = {true, 0, e.record.request().steps(), worker, worker_name};
        log::debug("image_started").kv("job", id.to_string()).kv("image", index).kv("worker", worker);
        if (!e.started) {
          // Running is a state of memory only: after a crash the job waits again anyway, so it is not worth a
          // write. The store says QUEUED until an image has an outcome.
          auto before = logical_state(e);
          e.started = true;
          log_state(e.record, before, logical_state(e));
          notify(self, e, v1::JobEvent::STATE);
        }
        notify(self, e, v1::JobEvent::PROGRESS, index, 0, e.record.request().steps());
      },
      [self](progress_atom, const uuid& id, uint32_t index, uint32_t step, uint32_t total) {
        auto it = self->state.jobs.find(id);
        if (it == self->state.jobs.end() || index >= it->second.live.size())
          return;
        auto& l = it->second.live[index];
        l.running = true;
        l.step = step;
        l.total = total;
        notify(self, it->second, v1::JobEvent::PROGRESS, index, step, total);
      },
      [self](completed_atom, const uuid& id, uint32_t index, uint64_t worker, uint64_t owner,
             pb<v1::GenerationResult>& result) {
        auto& st = self->state;
        auto it = st.jobs.find(id);
        if (it == st.jobs.end()) {
          log::info("result_discarded")
              .kv("job", id.to_string())
              .kv("image", index)
              .kv("reason", "job not active");
          return;
        }
        auto& e = it->second;
        if (index >= e.live.size())
          return;
        e.live[index] = {};
        const auto& cfg = st.options.config;
        int64_t now = st.options.now();
        int64_t price = e.record.quote().price_per_image_mk();
        int64_t value = e.record.quote().value_per_image_mk();
        double mps = e.record.quote().megapixel_steps();
        int64_t floor = ledger::to_mk(e.record.anonymous() ? cfg.ledger().anonymous_floor()
                                                           : cfg.ledger().registered_floor());
        uint64_t requester = e.record.owner_user_id();
        bool chose_worker = e.record.request().worker_allow_size() > 0;  // pinned: see settle_image
        auto stored = std::make_shared<v1::GenerationResult>(std::move(result.value));
        stored->set_job_id(id.to_bytes());
        stored->set_image_index(index);
        stored->set_queued_ms(e.record.created_ms());
        stored->set_expires_ms(now + static_cast<int64_t>(cfg.store().result_retention_s()) * 1000);
        auto settled = std::make_shared<persistence::settlement>();
        std::string cause = "img:" + id.to_string() + ":" + std::to_string(index);
        update_job(
            self, id,
            [=](v1::JobRecord& r, persistence::write_txn& txn) -> status {
              if (broker::is_terminal(r.state()))
                return status{errc::failed_precondition, "the job has ended"};
              auto& slot = *r.mutable_images(static_cast<int>(index));
              if (slot.state() == v1::IMAGE_DONE || slot.state() == v1::IMAGE_FAILED ||
                  slot.state() == v1::IMAGE_CANCELLED)
                return status{errc::already_exists, "the image has an outcome already"};
              auto s = persistence::ledger_book::settle_image(txn, requester, price, floor, owner, value,
                                                              chose_worker, cause, now);
              if (!s)
                return s.error();
              if (s->already_settled)
                return status{errc::already_exists, "the image was settled before"};
              *settled = *s;
              slot.set_state(v1::IMAGE_DONE);
              slot.set_worker_id(worker);
              slot.set_charged_mk(s->charged_mk);
              slot.set_credited_mk(s->credited_mk);
              CROWDIFF_RETURN_IF_ERROR(persistence::result_table::put(txn, *stored));
              if (r.state() == v1::QUEUED)
                r.set_state(v1::RUNNING);
              r.set_updated_ms(now);
              resolve(r, now);
              return status::ok();
            },
            [self, id, index, worker, stored, settled, settled_mps = mps](const status& s, v1::JobRecord& r) {
              auto& state = self->state;
              if (!s) {
                if (s.code() == errc::already_exists || s.code() == errc::failed_precondition ||
                    s.code() == errc::not_found) {
                  log::info("result_discarded")
                      .kv("job", id.to_string())
                      .kv("image", index)
                      .kv("reason", s.message());
                  return;
                }
                // The store refused the write: the image is not lost to the requester, it runs again.
                log::error("result_write_failed")
                    .kv("job", id.to_string())
                    .kv("image", index)
                    .kv("error", s.to_string());
                auto it2 = state.jobs.find(id);
                if (it2 == state.jobs.end())
                  return;
                v1::JobRecord retry = it2->second.record;
                for (int i = 0; i < retry.images_size(); ++i)
                  if (static_cast<uint32_t>(i) != index)
                    retry.mutable_images(i)->set_state(v1::IMAGE_DONE);
                enqueue(self, retry);
                return;
              }
              record_delivery(self, settled_mps);
              // The worker's statistics are the Scheduler's to write (it owns the workers table).
              self->send(state.options.scheduler, credit_atom::value, worker, settled_mps,
                         settled->credited_mk);
              log::info("image_done")
                  .kv("job", id.to_string())
                  .kv("image", index)
                  .kv("worker", worker)
                  .kv("charged_mk", settled->charged_mk)
                  .kv("forgiven_mk", settled->forgiven_mk)
                  .kv("credited_mk", settled->credited_mk);
              auto it2 = state.jobs.find(id);
              if (it2 == state.jobs.end())
                return;
              auto before = logical_state(it2->second);
              it2->second.record = std::move(r);
              notify(self, it2->second, v1::JobEvent::IMAGE, index);
              if (!it2->second.subscribers.empty()) {
                pb<v1::GenerationResult> image{*stored};
                for (const auto& sub : it2->second.subscribers)
                  caf::anon_send(sub, image_atom::value, image);
              }
              on_state_change(self, id, before);
            });
      },
      [self](failed_atom, const uuid& id, uint32_t index, const caf::error& failure) {
        auto why = to_status(failure);
        auto code = why.code();
        auto reason = why.message();
        auto& st = self->state;
        auto it = st.jobs.find(id);
        if (it == st.jobs.end() || index >= it->second.live.size())
          return;
        it->second.live[index] = {};
        int64_t now = st.options.now();
        log::warning("image_failed")
            .kv("job", id.to_string())
            .kv("image", index)
            .kv("code", to_string(code))
            .kv("reason", reason);
        update_job(
            self, id,
            [=](v1::JobRecord& r, persistence::write_txn&) -> status {
              if (broker::is_terminal(r.state()))
                return status{errc::failed_precondition, "the job has ended"};
              auto& slot = *r.mutable_images(static_cast<int>(index));
              if (slot.state() != v1::IMAGE_PENDING && slot.state() != v1::IMAGE_RUNNING)
                return status{errc::already_exists, "the image has an outcome already"};
              slot.set_state(v1::IMAGE_FAILED);
              slot.set_failure_code(static_cast<uint32_t>(code));
              slot.set_failure_reason(reason);
              r.set_updated_ms(now);
              resolve(r, now);
              return status::ok();
            },
            [self, id](const status& s, v1::JobRecord& r) {
              if (s)
                adopt(self, id, r);
            });
      },
      [self](requeued_atom, const uuid& id, uint32_t index) {
        auto it = self->state.jobs.find(id);
        if (it == self->state.jobs.end() || index >= it->second.live.size())
          return;
        it->second.live[index] = {};
        ++it->second.restarted;
        log::info("image_requeued").kv("job", id.to_string()).kv("image", index);
        notify(self, it->second, v1::JobEvent::PROGRESS, index, 0, 0);
      },
      [self](stats_atom) -> image_totals {
        auto& st = self->state;
        image_totals t;
        int64_t minute = st.options.now() / 60'000;
        for (const auto& b : st.delivered) {
          int64_t age = minute - b.minute;
          if (age < 1) {
            t.minute_images += b.images;
            t.minute_ps += b.pixel_steps;
          }
          if (age < 60) {
            t.hour_images += b.images;
            t.hour_ps += b.pixel_steps;
          }
          if (age < 1440) {
            t.day_images += b.images;
            t.day_ps += b.pixel_steps;
          }
          t.month_images += b.images;
          t.month_ps += b.pixel_steps;
        }
        t.total_images = st.total_images;
        t.total_ps = st.total_pixel_steps;
        return t;
      },
      [self](catalog_atom, const std::vector<std::string>& models) {
        // The scheduler's list is whole: the configured models plus what live workers serve now.
        auto& st = self->state;
        st.catalog = {st.options.config.models().begin(), st.options.config.models().end()};
        st.catalog.insert(models.begin(), models.end());
      },
      [self](owed_atom, const uuid& job, bool owed) { record_owed(self, job, owed); },
      [self](committed_atom, uint64_t id, const caf::error& outcome) {
        self->state.writes.resume(id, outcome);
      },
      [self](tick_atom) {
        auto& st = self->state;
        int64_t now = st.options.now();
        int64_t retention_ms = static_cast<int64_t>(st.options.config.store().result_retention_s()) * 1000;
        // A finished job that cannot be decoded is moved aside in the sweep's transaction, so it neither
        // fails every sweep nor outlives retention.
        auto bad = std::make_shared<std::vector<persistence::bad_record>>();
        auto bad_ids = std::make_shared<std::vector<std::optional<uint64_t>>>();
        st.writes.submit(
            *st.options.store, caf::actor_cast<broker_actor>(self),
            [now, retention_ms, bad, bad_ids](persistence::write_txn& txn) -> status {
              bad->clear();  // an operation may run more than once
              bad_ids->clear();
              auto dropped = persistence::result_table::erase_expired(txn, now, 1000);
              if (!dropped)
                return dropped.error();
              std::vector<v1::JobRecord> old;
              CROWDIFF_RETURN_IF_ERROR(job_table::scan_finished_before(
                  txn, now - retention_ms,
                  [&](v1::JobRecord& r) {
                    old.push_back(r);
                    return old.size() < 1000;
                  },
                  persistence::collect_into(*bad)));
              auto moved = persistence::quarantine_table::move_aside(txn, *bad, now);
              if (!moved)
                return moved.error();
              *bad_ids = std::move(*moved);
              for (const auto& r : old) {
                auto id = uuid::from_bytes(r.id());
                for (int i = 0; i < r.images_size(); ++i)
                  CROWDIFF_RETURN_IF_ERROR(
                      persistence::result_table::erase(txn, *id, static_cast<uint32_t>(i)));
                CROWDIFF_RETURN_IF_ERROR(job_table::erase(txn, *id));
              }
              return status::ok();
            },
            [bad, bad_ids](const status& s) {
              if (!s)
                log::error("retention_sweep_failed").kv("error", s.to_string());
              persistence::log_moved_aside("retention", *bad, *bad_ids, s);
            });
        self->delayed_send(self, st.options.sweep_interval, tick_atom::value);
      },
  };
}

}  // namespace crowdiff
