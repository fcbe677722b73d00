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
#include "actors/broker/job_transitions.hpp"
#include "actors/broker/request_validation.hpp"
#include "actors/detail/authenticate.hpp"
#include "actors/ledger/accounting.hpp"
#include "common/log.hpp"
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
  r.load = st.book.load_of(who->user_id);
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

caf::result<pb<v1::KudosQuote>> on_quote(self_ptr self, const std::string& api_key, v1::JobRequest& request) {
  auto who = requester_of(self, api_key, request);
  if (!who)
    return to_error(who.error());
  auto quoted = broker::quote_for(std::move(request), who->second, self->state.options.config);
  if (!quoted)
    return to_error(quoted.error());
  return pb<v1::KudosQuote>{std::move(quoted->quote)};
}

// The record's write: under an idempotency key already used, the job that key created (see
// reply_with_existing); otherwise the record, its webhook debt and the submission counter.
status store_submission(persistence::write_txn& txn, const v1::JobRecord& record,
                        std::optional<uuid>& earlier) {
  const auto& key = record.request().idempotency_key();
  auto id = *uuid::from_bytes(record.id());
  if (!key.empty()) {
    // A resubmission (say, after a lost connection) returns the job it created the first time.
    auto found = job_table::find_by_client_key(txn, record.owner_user_id(), key);
    if (!found)
      return found.error();
    if (found->has_value()) {
      earlier = *found;
      return status{errc::already_exists, "resubmitted"};
    }
    CROWDIFF_RETURN_IF_ERROR(job_table::put_client_key(txn, record.owner_user_id(), key, id));
  }
  CROWDIFF_RETURN_IF_ERROR(job_table::put(txn, record));
  // From its acceptance on, a job with a webhook is owed its `done` (the gateway POSTs it, after a restart
  // too, and clears this once it is delivered or given up on).
  if (!record.request().webhook().empty())
    CROWDIFF_RETURN_IF_ERROR(persistence::webhook_table::owe(txn, id));
  auto current = persistence::read_counter(txn, persistence::meta_keys::next_job_sequence);
  if (!current)
    return current.error();
  if (*current < record.sequence())
    return persistence::write_counter(txn, persistence::meta_keys::next_job_sequence, record.sequence());
  return status::ok();
}

// A job is placed at once and acknowledged once its record is durable (broker_submission.cpp).
caf::result<pb<v1::SubmitReply>> on_submit(self_ptr self, const std::string& api_key,
                                           v1::JobRequest& request) {
  auto& st = self->state;
  const auto& cfg = st.options.config;
  auto who = requester_of(self, api_key, request);
  if (!who)
    return to_error(who.error());
  auto admission = broker::admit(std::move(request), who->second, cfg);
  if (!admission)
    return to_error(admission.error());
  if (admission->downgraded)
    log::info("job_downgraded")
        .kv("user", who->first.user_id)
        .kv("width", admission->request.width())
        .kv("height", admission->request.height())
        .kv("steps", admission->request.steps());
  broker::acceptance a;
  a.id = uuid::random();
  a.owner = who->first.user_id;
  a.anonymous = who->first.anonymous;
  a.priority = who->first.anonymous ? cfg.ledger().anonymous_priority()
                                    : static_cast<double>(who->second.balance_mk) / 1000.0;
  a.sequence = ++st.next_sequence;
  a.random_seed = random_seed();
  a.now_ms = st.options.now();
  a.default_expiry_s = cfg.scheduler().default_expiry_s();
  auto record = std::make_shared<v1::JobRecord>(
      broker::accepted_record(std::move(admission->request), admission->quote, a));

  auto rp = self->make_response_promise<pb<v1::SubmitReply>>();
  auto earlier = std::make_shared<std::optional<uuid>>();
  auto pending = std::make_shared<pending_submit>();
  pending->rp = rp;
  pending->record = record;
  pending->downgraded = admission->downgraded;
  admit(self, pending);
  st.writes.submit(
      *st.options.store, caf::actor_cast<broker_actor>(self),
      [record, earlier](persistence::write_txn& txn) { return store_submission(txn, *record, *earlier); },
      [self, pending, earlier](const status& outcome) {
        if (!outcome && earlier->has_value())
          pending->duplicate_of = **earlier;
        pending->stored = outcome;
        settle_submit(self, pending);
      });
  return rp;
}

// The status of a job that is no longer active, as the store has it (or why it cannot be read).
caf::result<pb<v1::JobStatus>> stored_status_reply(self_ptr self, const uuid& id) {
  auto s = stored_status(self, id);
  if (!s)
    return to_error(s.error());
  return pb<v1::JobStatus>{std::move(*s)};
}

caf::result<pb<v1::JobStatus>> on_status(self_ptr self, const uuid& id) {
  auto& st = self->state;
  if (st.book.find(id) == nullptr)
    return stored_status_reply(self, id);
  auto rp = self->make_response_promise<pb<v1::JobStatus>>();
  self->request(st.options.scheduler, caf::infinite, estimate_atom::value, id)
      .then(
          [self, rp, id](const queue_estimate& est) mutable {
            const auto* job = self->state.book.find(id);
            if (job == nullptr) {  // it ended meanwhile
              auto s = stored_status(self, id);
              if (!s)
                rp.deliver(to_error(s.error()));
              else
                rp.deliver(pb<v1::JobStatus>{std::move(*s)});
              return;
            }
            rp.deliver(pb<v1::JobStatus>{self->state.book.status(*job, &est)});
          },
          [rp](const caf::error& e) mutable { rp.deliver(e); });
  return rp;
}

caf::result<pb<v1::JobStatus>> on_cancel(self_ptr self, const uuid& id) {
  auto& st = self->state;
  if (st.book.find(id) == nullptr)
    return stored_status_reply(self, id);  // already finished: cancelling changes nothing
  auto rp = self->make_response_promise<pb<v1::JobStatus>>();
  int64_t now = st.options.now();
  update_job(
      self, id, [now](v1::JobRecord& r, persistence::write_txn&) { return broker::cancel(r, now); },
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
}

caf::result<pb<v1::GenerationResult>> on_fetch(self_ptr self, const uuid& id, uint32_t index) {
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
}

caf::result<pb<v1::JobStatus>> on_subscribe(self_ptr self, const uuid& id, const caf::actor& listener) {
  auto& st = self->state;
  auto now = st.book.watch(id);
  if (!now)
    return stored_status_reply(self, id);
  if (listener)
    st.subscribers[id].push_back(listener);
  return pb<v1::JobStatus>{std::move(*now)};
}

void on_started(self_ptr self, const uuid& id, uint32_t index, uint64_t worker,
                const std::string& worker_name) {
  log::debug("image_started").kv("job", id.to_string()).kv("image", index).kv("worker", worker);
  carry_out(self, id, self->state.book.start(id, index, worker, worker_name));
}

// The delivery's write failed. A stale result (the image or the job has an outcome) is dropped; otherwise the
// store refused the write, and the image is not lost to the requester: it runs again.
void on_result_not_stored(self_ptr self, const uuid& id, uint32_t index, const status& s) {
  if (s.code() == errc::already_exists || s.code() == errc::failed_precondition ||
      s.code() == errc::not_found) {
    log::info("result_discarded").kv("job", id.to_string()).kv("image", index).kv("reason", s.message());
    return;
  }
  log::error("result_write_failed").kv("job", id.to_string()).kv("image", index).kv("error", s.to_string());
  const auto* job = self->state.book.find(id);
  if (job == nullptr)
    return;
  v1::JobRecord retry = job->record;
  for (int i = 0; i < retry.images_size(); ++i)
    if (static_cast<uint32_t>(i) != index)
      retry.mutable_images(i)->set_state(v1::IMAGE_DONE);
  enqueue(self, retry);
}

// A checked result (the Scheduler checked it): the requester is charged, the worker's owner credited and the
// image stored in one transaction with the job's record; a write that fails sends the image back to the
// queue.
void on_completed(self_ptr self, const uuid& id, uint32_t index, uint64_t worker, uint64_t owner,
                  v1::GenerationResult& result) {
  auto& st = self->state;
  const auto* job = st.book.find(id);
  if (job == nullptr) {
    log::info("result_discarded").kv("job", id.to_string()).kv("image", index).kv("reason", "job not active");
    return;
  }
  if (!st.book.close_image(id, index))
    return;
  const auto& cfg = st.options.config;
  const auto& record = job->record;
  int64_t now = st.options.now();
  int64_t price = record.quote().price_per_image_mk();
  int64_t value = record.quote().value_per_image_mk();
  double mps = record.quote().megapixel_steps();
  int64_t floor = ledger::floor_mk(record.anonymous(), cfg.ledger());
  uint64_t requester = record.owner_user_id();
  bool chose_worker = record.request().worker_allow_size() > 0;  // pinned: see settle_image
  auto stored = std::make_shared<v1::GenerationResult>(std::move(result));
  stored->set_job_id(id.to_bytes());
  stored->set_image_index(index);
  stored->set_queued_ms(record.created_ms());
  stored->set_expires_ms(now + static_cast<int64_t>(cfg.store().result_retention_s()) * 1000);
  auto settled = std::make_shared<persistence::settlement>();
  std::string cause = "img:" + id.to_string() + ":" + std::to_string(index);
  update_job(
      self, id,
      [=](v1::JobRecord& r, persistence::write_txn& txn) -> status {
        CROWDIFF_RETURN_IF_ERROR(broker::check_open(r, index));
        auto s = persistence::ledger_book::settle_image(txn, requester, price, floor, owner, value,
                                                        chose_worker, cause, now);
        if (!s)
          return s.error();
        if (s->already_settled)
          return status{errc::already_exists, "the image was settled before"};
        *settled = *s;
        broker::record_delivery(r, index, worker, *s, now);
        return persistence::result_table::put(txn, *stored);
      },
      [self, id, index, worker, stored, settled, mps](const status& s, v1::JobRecord& r) {
        if (!s) {
          on_result_not_stored(self, id, index, s);
          return;
        }
        auto& state = self->state;
        state.delivered.record(state.options.now(), mps);
        // The worker's statistics are the Scheduler's to write (it owns the workers table).
        self->send(state.options.scheduler, credit_atom::value, worker, mps, settled->credited_mk);
        log::info("image_done")
            .kv("job", id.to_string())
            .kv("image", index)
            .kv("worker", worker)
            .kv("charged_mk", settled->charged_mk)
            .kv("forgiven_mk", settled->forgiven_mk)
            .kv("credited_mk", settled->credited_mk);
        carry_out(self, id, state.book.adopt(id, std::move(r), index), stored.get());
      });
}

void on_failed(self_ptr self, const uuid& id, uint32_t index, const caf::error& failure) {
  auto why = to_status(failure);
  auto& st = self->state;
  if (!st.book.close_image(id, index))
    return;
  int64_t now = st.options.now();
  log::warning("image_failed")
      .kv("job", id.to_string())
      .kv("image", index)
      .kv("code", to_string(why.code()))
      .kv("reason", why.message());
  update_job(
      self, id,
      [=](v1::JobRecord& r, persistence::write_txn&) {
        return broker::record_failure(r, index, why.code(), why.message(), now);
      },
      [self, id](const status& s, v1::JobRecord& r) {
        if (s)
          adopt(self, id, r);
      });
}

void on_requeued(self_ptr self, const uuid& id, uint32_t index) {
  const auto* job = self->state.book.find(id);
  if (job == nullptr || index >= job->live.size())
    return;
  log::info("image_requeued").kv("job", id.to_string()).kv("image", index);
  carry_out(self, id, self->state.book.requeue(id, index));
}

void on_catalog(self_ptr self, const std::vector<std::string>& models) {
  // The scheduler's list is whole: the configured models plus what live workers serve now.
  auto& st = self->state;
  st.catalog = {st.options.config.models().begin(), st.options.config.models().end()};
  st.catalog.insert(models.begin(), models.end());
}

// Retention: expired results and finished jobs older than the retention are erased; a finished job that
// cannot be decoded is moved aside in the sweep's transaction, so it neither fails every sweep nor outlives
// retention.
void on_sweep(self_ptr self) {
  auto& st = self->state;
  int64_t now = st.options.now();
  int64_t retention_ms = static_cast<int64_t>(st.options.config.store().result_retention_s()) * 1000;
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
            CROWDIFF_RETURN_IF_ERROR(persistence::result_table::erase(txn, *id, static_cast<uint32_t>(i)));
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
      [self](quote_atom, const std::string& api_key, pb<v1::JobRequest>& request) {
        return on_quote(self, api_key, request.value);
      },
      [self](submit_atom, const std::string& api_key, pb<v1::JobRequest>& request) {
        return on_submit(self, api_key, request.value);
      },
      [self](status_atom, const uuid& id) { return on_status(self, id); },
      [self](cancel_atom, const uuid& id) { return on_cancel(self, id); },
      [self](fetch_atom, const uuid& id, uint32_t index) { return on_fetch(self, id, index); },
      [self](subscribe_atom, const uuid& id, const caf::actor& listener) {
        return on_subscribe(self, id, listener);
      },
      [self](started_atom, const uuid& id, uint32_t index, uint64_t worker, const std::string& worker_name) {
        on_started(self, id, index, worker, worker_name);
      },
      [self](progress_atom, const uuid& id, uint32_t index, uint32_t step, uint32_t total) {
        carry_out(self, id, self->state.book.progress(id, index, step, total));
      },
      [self](completed_atom, const uuid& id, uint32_t index, uint64_t worker, uint64_t owner,
             pb<v1::GenerationResult>& result) {
        on_completed(self, id, index, worker, owner, result.value);
      },
      [self](failed_atom, const uuid& id, uint32_t index, const caf::error& failure) {
        on_failed(self, id, index, failure);
      },
      [self](requeued_atom, const uuid& id, uint32_t index) { on_requeued(self, id, index); },
      [self](stats_atom) { return self->state.delivered.totals(self->state.options.now()); },
      [self](catalog_atom, const std::vector<std::string>& models) { on_catalog(self, models); },
      [self](owed_atom, const uuid& job, bool owed) { record_owed(self, job, owed); },
      [self](committed_atom, uint64_t id, const caf::error& outcome) {
        self->state.writes.resume(id, outcome);
      },
      [self](tick_atom) { on_sweep(self); },
  };
}

}  // namespace crowdiff
