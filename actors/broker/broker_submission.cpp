// Accepting a job: placed at once, acknowledged once durable, taken back if the write fails.
#include <caf/all.hpp>
#include <sodium.h>

#include "actors/broker/detail/broker_internals.hpp"
#include "actors/broker/job_status.hpp"
#include "common/log.hpp"
#include "persistence/job_table.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/result_table.hpp"
#include "persistence/worker_table.hpp"
#include "protocol/errors.hpp"

namespace crowdiff::broker_detail {

using persistence::job_table;

// Answers a resubmission with the job the first submission created.
void reply_with_existing(self_ptr self, caf::typed_response_promise<pb<v1::SubmitReply>> rp, const uuid& id) {
  auto txn = self->state.options.store->read();
  if (!txn) {
    rp.deliver(to_error(txn.error()));
    return;
  }
  auto rec = job_table::get(**txn, id);
  if (!rec || !rec->has_value()) {
    rp.deliver(make_error(errc::internal, "an idempotency key points at a missing job"));
    return;
  }
  auto record = std::make_shared<v1::JobRecord>(std::move(**rec));
  txn = status{errc::cancelled, "released"};
  self->request(self->state.options.scheduler, caf::infinite, estimate_atom::value, id)
      .then(
          [rp, record](const queue_estimate& est) mutable {
            v1::SubmitReply reply;
            reply.set_job_id(record->id());
            *reply.mutable_quote() = record->quote();
            reply.set_queue_position(est.position);
            reply.set_estimated_start_ms(est.start_ms);
            reply.set_estimated_finish_ms(est.finish_ms);
            reply.set_possible(est.possible);
            reply.set_resubmitted(true);
            rp.deliver(pb<v1::SubmitReply>{std::move(reply)});
          },
          [rp](const caf::error& e) mutable { rp.deliver(e); });
}

// A submission is placed at once, so dispatch does not wait for the disk; it is acknowledged only once its
// record is durable (a worker's result for it is written after it: the commit queue keeps order).
void reply_submitted(pending_submit& p) {
  v1::SubmitReply reply;
  reply.set_job_id(p.record->id());
  *reply.mutable_quote() = p.record->quote();
  reply.set_queue_position(p.estimate->position);
  reply.set_estimated_start_ms(p.estimate->start_ms);
  reply.set_estimated_finish_ms(p.estimate->finish_ms);
  reply.set_possible(p.estimate->possible);
  reply.set_downgraded(p.downgraded);
  p.rp.deliver(pb<v1::SubmitReply>{std::move(reply)});
}

// Both halves are in: the record's commit and the scheduler's estimate.
void settle_submit(self_ptr self, const std::shared_ptr<pending_submit>& p) {
  if (!p->estimate || !p->stored)
    return;
  if (*p->stored) {
    reply_submitted(*p);
    return;
  }
  // Not stored: take the job back out before anything is charged for it.
  auto id = *uuid::from_bytes(p->record->id());
  self->send(self->state.options.scheduler, cancel_atom::value, id);
  self->state.book.remove(id);
  if (p->duplicate_of) {
    log::info("job_resubmitted").kv("job", p->duplicate_of->to_string());
    reply_with_existing(self, p->rp, *p->duplicate_of);
    return;
  }
  log::error("submit_failed").kv("error", p->stored->to_string());
  p->rp.deliver(to_error(*p->stored));
}

// Makes the job active and asks the scheduler to place it.
void admit(self_ptr self, const std::shared_ptr<pending_submit>& p) {
  auto& st = self->state;
  const auto& record = *p->record;
  auto id = *uuid::from_bytes(record.id());
  st.book.add(record);
  log::info("job_state")
      .kv("job", id.to_string())
      .kv("user", record.owner_user_id())
      .kv("from", "new")
      .kv("to", "queued")
      .kv("images", record.images_size())
      .kv("price_mk", record.quote().total_mk());
  self->request(st.options.scheduler, caf::infinite, enqueue_atom::value, pb<v1::JobRecord>{record})
      .then(
          [self, p](const queue_estimate& est) {
            p->estimate = est;
            settle_submit(self, p);
          },
          [self, p](const caf::error& err) {
            // Stored jobs run after a restart at the latest; report it as not possible now rather than fail.
            log::error("enqueue_failed")
                .kv("job", uuid::from_bytes(p->record->id())->to_string())
                .kv("error", to_string(err));
            queue_estimate none;
            none.possible = false;
            p->estimate = none;
            settle_submit(self, p);
          });
}

}  // namespace crowdiff::broker_detail
