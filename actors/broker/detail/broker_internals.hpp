#pragma once

// Helpers shared by the broker's source files (broker_actor.cpp, broker_jobs.cpp, broker_submission.cpp).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "actors/broker/admission.hpp"
#include "actors/broker/broker_state.hpp"
#include "persistence/bad_record.hpp"
#include "persistence/store.hpp"

namespace crowdiff::broker_detail {

using self_ptr = broker_actor::stateful_pointer<broker_state>;
using job_entry = broker_state::job_entry;
using mutation = std::function<status(v1::JobRecord& record, persistence::write_txn& txn)>;

// broker_jobs.cpp: a job's state in memory and in the store.
std::string state_name(v1::JobState s);
/// QUEUED becomes RUNNING once a worker has started on the job.
v1::JobState logical_state(const job_entry& e);
/// A status for an active job, in its logical state.
v1::JobStatus active_status(const job_entry& e, const queue_estimate* estimate);
void log_state(const v1::JobRecord& record, v1::JobState from, v1::JobState to);
/// When every image has an outcome, the job has one too.
void resolve(v1::JobRecord& r, int64_t now);
/// Read-modify-write of a stored job through the group-commit queue; `then` runs in the actor.
void update_job(self_ptr self, const uuid& id, mutation m,
                std::function<void(const status&, v1::JobRecord&)> then);
void notify(self_ptr self, job_entry& e, v1::JobEvent::Kind kind, uint32_t index = 0, uint32_t step = 0,
            uint32_t total = 0);
/// The job reached its end: tell everyone and forget it (the store keeps it).
void finish(self_ptr self, const uuid& id);
/// Logs a state change of an active job, and finishes it when the state is final.
void on_state_change(self_ptr self, const uuid& id, v1::JobState before);
/// Applies a committed record to the entry.
void adopt(self_ptr self, const uuid& id, v1::JobRecord& record);
result<v1::JobStatus> stored_status(self_ptr self, const uuid& id);
void enqueue(self_ptr self, const v1::JobRecord& record);
uint64_t random_seed();
/// Reads every unfinished job back from the store and enqueues it again; records it cannot decode are
/// quarantined, the rest recovered.
void recover(self_ptr self);
/// Moves `bad` aside (persistence/quarantine_table) through the group-commit queue and logs each record.
void quarantine(self_ptr self, std::string_view scan, std::vector<persistence::bad_record> bad);
/// The job no longer counts among its owner's unfinished ones.
void forget_owner(broker_state& st, uint64_t owner, const uuid& id);
/// What a user has in flight, for admission.
broker::requester_load load_of(const broker_state& st, uint64_t user);
/// Counts a delivered image in the per-minute statistics.
void record_delivery(self_ptr self, double megapixel_steps);

// broker_submission.cpp: accepting a job.
/// A submission in flight (see broker_submission.cpp).
struct pending_submit {
  caf::typed_response_promise<pb<v1::SubmitReply>> rp;
  std::shared_ptr<v1::JobRecord> record;
  std::optional<queue_estimate> estimate;
  std::optional<status> stored;
  std::optional<uuid> duplicate_of;  // an earlier submission with the same idempotency key
  bool downgraded = false;           // shrunk to the free limits (broker/admission)
};
/// Answers a resubmission with the job the first submission created.
void reply_with_existing(self_ptr self, caf::typed_response_promise<pb<v1::SubmitReply>> rp, const uuid& id);
/// Both halves are in (the record's commit and the scheduler's estimate): answer or take the job back.
void settle_submit(self_ptr self, const std::shared_ptr<pending_submit>& p);
/// Makes the job active and asks the scheduler to place it.
void admit(self_ptr self, const std::shared_ptr<pending_submit>& p);

}  // namespace crowdiff::broker_detail
