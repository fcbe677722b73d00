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
using mutation = std::function<status(v1::JobRecord& record, persistence::write_txn& txn)>;

// broker_jobs.cpp: a job's record in the store, the book's effects carried out, recovery.
std::string state_name(v1::JobState s);
/// One log line per state change of a job.
void log_state(const broker::state_change& change);
/// Read-modify-write of a stored job through the group-commit queue; `then` runs in the actor.
void update_job(self_ptr self, const uuid& id, mutation m,
                std::function<void(const status&, v1::JobRecord&)> then);
/// Carries out what the book decided for job `id`: the log line, its notices to the job's subscribers
/// (`image` after the notice that asks for it), and forgetting the subscribers of a job that ended.
void carry_out(self_ptr self, const uuid& id, broker::book_effects effects,
               const v1::GenerationResult* image = nullptr);
/// Hands a committed record to the book and carries out the effects.
void adopt(self_ptr self, const uuid& id, v1::JobRecord& record);
result<v1::JobStatus> stored_status(self_ptr self, const uuid& id);
void enqueue(self_ptr self, const v1::JobRecord& record);
uint64_t random_seed();
/// Reads every unfinished job back from the store and enqueues it again; records it cannot decode are
/// quarantined, the rest recovered.
void recover(self_ptr self);
/// Moves `bad` aside (persistence/quarantine_table) through the group-commit queue and logs each record.
void quarantine(self_ptr self, std::string_view scan, std::vector<persistence::bad_record> bad);

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
