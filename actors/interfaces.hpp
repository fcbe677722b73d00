#pragma once

// The typed interfaces of crowdiff's actors, declared once. docs/ARCHITECTURE.md describes each message.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace crowdiff {

/// One per GPU (or one CPU worker): receives pushed tasks, reports progress, results and faults.
using worker_actor =
    caf::typed_actor<caf::reacts_to<run_atom, pb<v1::TaskSpec>>,
                     caf::reacts_to<cancel_atom, uint64_t>,  // assignment id
                     caf::reacts_to<drain_atom>,
                     // From the worker's own generation thread:
                     caf::reacts_to<generated_atom, uint64_t, pb<v1::GenerationResult>>,
                     caf::reacts_to<fault_atom, uint64_t, caf::error>,
                     caf::reacts_to<progress_atom, uint64_t, uint32_t, uint32_t>, caf::reacts_to<tick_atom>>;

/// Submissions, status, results and cancellation; owns the jobs.
using broker_actor = caf::typed_actor<
    caf::replies_to<submit_atom, std::string, pb<v1::JobRequest>>::with<pb<v1::SubmitReply>>,
    caf::replies_to<status_atom, uuid>::with<pb<v1::JobStatus>>,
    caf::replies_to<cancel_atom, uuid>::with<pb<v1::JobStatus>>,
    caf::replies_to<fetch_atom, uuid, uint32_t>::with<pb<v1::GenerationResult>>,
    caf::replies_to<subscribe_atom, uuid, caf::actor>::with<pb<v1::JobStatus>>,
    // The scheduler.
    caf::reacts_to<started_atom, uuid, uint32_t, uint64_t, std::string>,
    caf::reacts_to<progress_atom, uuid, uint32_t, uint32_t, uint32_t>,
    caf::reacts_to<completed_atom, uuid, uint32_t, uint64_t, uint64_t, pb<v1::GenerationResult>>,
    caf::reacts_to<failed_atom, uuid, uint32_t, caf::error>, caf::reacts_to<requeued_atom, uuid, uint32_t>,
    caf::reacts_to<catalog_atom, std::vector<std::string>>,
    // Internal.
    caf::reacts_to<committed_atom, uint64_t, caf::error>, caf::reacts_to<tick_atom>>;

/// Real-time allocation of images to workers.
using scheduler_actor = caf::typed_actor<
    // Workers (the worker id is checked against the sender).
    caf::replies_to<join_atom, pb<v1::WorkerRegistration>, worker_actor>::with<uint64_t>,
    caf::reacts_to<leave_atom, uint64_t>,
    caf::reacts_to<progress_atom, uint64_t, uint64_t, uint32_t, uint32_t>,  // worker, assignment, step, total
    caf::reacts_to<result_atom, uint64_t, uint64_t, pb<v1::GenerationResult>>,
    caf::reacts_to<fault_atom, uint64_t, uint64_t, caf::error>,
    caf::reacts_to<models_atom, uint64_t, pb<v1::WorkerRegistration>>,
    // The broker (which attaches itself first).
    caf::reacts_to<attach_atom, broker_actor>,
    caf::replies_to<enqueue_atom, pb<v1::JobRecord>>::with<queue_estimate>, caf::reacts_to<cancel_atom, uuid>,
    caf::replies_to<estimate_atom, uuid>::with<queue_estimate>,
    caf::replies_to<workers_atom>::with<worker_summaries>,
    // Internal.
    caf::reacts_to<committed_atom, uint64_t, caf::error>, caf::reacts_to<tick_atom>>;

/// Kudos: quotes, balances, transfers, uptime rewards, users.
using ledger_actor = caf::typed_actor<
    caf::replies_to<quote_atom, pb<v1::JobRequest>>::with<pb<v1::KudosQuote>>,
    caf::replies_to<balance_atom, std::string>::with<pb<v1::Balance>>,  // API key
    caf::replies_to<transfer_atom, std::string, std::string, int64_t, std::string>::with<pb<v1::LedgerEntry>>,
    caf::replies_to<user_add_atom, std::string>::with<pb<v1::UserRecord>, std::string>,
    caf::replies_to<grant_atom, uint64_t, int64_t, std::string>::with<pb<v1::LedgerEntry>>,
    caf::replies_to<audit_atom>::with<pb<v1::LedgerAudit>>,
    caf::reacts_to<uptime_atom, uint64_t, uint64_t, int64_t, int64_t>,  // worker, owner, from, to
    caf::reacts_to<committed_atom, uint64_t, caf::error>>;

}  // namespace crowdiff
