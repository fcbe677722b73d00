#pragma once

// The typed interfaces of crowdiff's actors, declared once. docs/ARCHITECTURE.md describes each message.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/typed_actor.hpp>

#include "protocol/type_ids.hpp"

namespace crowdiff {

/// A worker as the scheduler (or a worker session) sees it: it takes pushed tasks and cancellations.
using worker_actor = caf::typed_actor<caf::reacts_to<run_atom, pb<v1::TaskSpec>>,
                                      caf::reacts_to<cancel_atom, uint64_t>,  // assignment id
                                      caf::reacts_to<drain_atom>>;

/// The worker's own interface: what the scheduler sends plus what its generation thread reports.
using worker_impl_actor =
    worker_actor::extend<caf::reacts_to<generated_atom, uint64_t, pb<v1::GenerationResult>>,
                         caf::reacts_to<fault_atom, uint64_t, caf::error>,
                         caf::reacts_to<progress_atom, uint64_t, uint32_t, uint32_t>,
                         caf::reacts_to<tick_atom>>;

/// What a worker talks to: the scheduler in the same process, or its session on a remote core.
/// Worker ids are checked against the sender.
using worker_endpoint_actor = caf::typed_actor<
    caf::replies_to<join_atom, pb<v1::WorkerRegistration>, worker_actor>::with<uint64_t>,
    caf::reacts_to<leave_atom, uint64_t>,
    caf::reacts_to<progress_atom, uint64_t, uint64_t, uint32_t, uint32_t>,  // worker, assignment, step, total
    caf::reacts_to<result_atom, uint64_t, uint64_t, pb<v1::GenerationResult>>,
    caf::reacts_to<fault_atom, uint64_t, uint64_t, caf::error>,
    caf::reacts_to<models_atom, uint64_t, pb<v1::WorkerRegistration>>>;

/// Gives a worker its endpoint: the scheduler itself in-process; on a worker node, a fresh session on the
/// core after (re)connecting with backoff.
using uplink_actor = caf::typed_actor<caf::replies_to<uplink_atom>::with<worker_endpoint_actor>>;

/// Submissions, status, results and cancellation; owns the jobs.
using broker_actor = caf::typed_actor<
    caf::replies_to<submit_atom, std::string, pb<v1::JobRequest>>::with<pb<v1::SubmitReply>>,
    // A dry run for this API key: exactly what the submit would charge (broker/admission: a downgraded
    // request's price where it would be shrunk), after the same validation; limits are not checked.
    caf::replies_to<quote_atom, std::string, pb<v1::JobRequest>>::with<pb<v1::KudosQuote>>,
    caf::replies_to<status_atom, uuid>::with<pb<v1::JobStatus>>,
    caf::replies_to<cancel_atom, uuid>::with<pb<v1::JobStatus>>,
    caf::replies_to<fetch_atom, uuid, uint32_t>::with<pb<v1::GenerationResult>>,
    caf::replies_to<subscribe_atom, uuid, caf::actor>::with<pb<v1::JobStatus>>,
    // The scheduler.
    caf::reacts_to<started_atom, uuid, uint32_t, uint64_t, std::string>,
    caf::reacts_to<progress_atom, uuid, uint32_t, uint32_t, uint32_t>,
    caf::reacts_to<completed_atom, uuid, uint32_t, uint64_t, uint64_t, pb<v1::GenerationResult>>,
    caf::reacts_to<failed_atom, uuid, uint32_t, caf::error>, caf::reacts_to<requeued_atom, uuid, uint32_t>,
    caf::reacts_to<catalog_atom, std::vector<std::string>>, caf::replies_to<stats_atom>::with<image_totals>,
    // The gateway's webhook watchers: whether a job is still owed its `done` (the Broker owns webhooks_owed).
    caf::reacts_to<owed_atom, uuid, bool>,
    // Internal.
    caf::reacts_to<committed_atom, uint64_t, caf::error>, caf::reacts_to<tick_atom>>;

/// Real-time allocation of images to workers: a worker endpoint plus what the broker and operators ask.
using scheduler_actor = worker_endpoint_actor::extend<
    // The broker (which attaches itself first).
    caf::reacts_to<attach_atom, broker_actor>,
    caf::replies_to<enqueue_atom, pb<v1::JobRecord>>::with<queue_estimate>, caf::reacts_to<cancel_atom, uuid>,
    caf::replies_to<estimate_atom, uuid>::with<queue_estimate>,
    caf::replies_to<workers_atom>::with<worker_summaries>, caf::replies_to<load_atom>::with<scheduler_load>,
    caf::replies_to<model_stats_atom>::with<model_stats>,
    // The Scheduler owns the workers table: an owner's edits (worker, the user asking, the changes; answered
    // once committed), and what the Broker credited a worker for an image (worker, megapixel-steps, kudos
    // mk).
    caf::replies_to<edit_atom, uint64_t, uint64_t, pb<v1::WorkerChanges>>::with<pb<v1::WorkerRecord>>,
    caf::reacts_to<credit_atom, uint64_t, double, int64_t>,
    // Internal.
    caf::reacts_to<committed_atom, uint64_t, caf::error>, caf::reacts_to<tick_atom>>;

/// Kudos: quotes, balances, transfers, uptime rewards, users.
using ledger_actor = caf::typed_actor<
    caf::replies_to<quote_atom, pb<v1::JobRequest>>::with<pb<v1::KudosQuote>>,
    caf::replies_to<balance_atom, std::string>::with<pb<v1::Balance>>,  // API key
    caf::replies_to<transfer_atom, std::string, std::string, int64_t, std::string>::with<pb<v1::LedgerEntry>>,
    caf::replies_to<user_add_atom, std::string>::with<pb<v1::UserRecord>, std::string>,
    caf::replies_to<grant_atom, uint64_t, int64_t, std::string>::with<pb<v1::LedgerEntry>>,
    caf::replies_to<grant_atom, std::string, int64_t, std::string>::with<pb<v1::LedgerEntry>>,  // by user
                                                                                                // name
    caf::replies_to<audit_atom>::with<pb<v1::LedgerAudit>>,
    caf::reacts_to<uptime_atom, uint64_t, uint64_t, int64_t, int64_t>,  // owner, serving workers, from, to
    caf::reacts_to<committed_atom, uint64_t, caf::error>>;

/// What a client holds after logging in (the C++ client library, the CLI): the API of the core for one
/// authenticated user. Admin-only: user_add.
using client_session_actor = caf::typed_actor<
    caf::replies_to<submit_atom, pb<v1::JobRequest>>::with<pb<v1::SubmitReply>>,
    caf::replies_to<quote_atom, pb<v1::JobRequest>>::with<pb<v1::KudosQuote>>,
    caf::replies_to<status_atom, uuid>::with<pb<v1::JobStatus>>,
    caf::replies_to<cancel_atom, uuid>::with<pb<v1::JobStatus>>,
    caf::replies_to<fetch_atom, uuid, uint32_t>::with<pb<v1::GenerationResult>>,
    caf::replies_to<subscribe_atom, uuid, caf::actor>::with<pb<v1::JobStatus>>,
    caf::replies_to<balance_atom>::with<pb<v1::Balance>>,
    caf::replies_to<transfer_atom, std::string, int64_t, std::string>::with<pb<v1::LedgerEntry>>,
    caf::replies_to<workers_atom>::with<worker_summaries>,
    caf::replies_to<user_add_atom, std::string>::with<pb<v1::UserRecord>, std::string>,
    caf::replies_to<audit_atom>::with<pb<v1::LedgerAudit>>,
    caf::replies_to<grant_atom, std::string, int64_t, std::string>::with<pb<v1::LedgerEntry>>>;

/// A remote worker's session on the core: to the scheduler it is the worker, to the worker it is the
/// scheduler. It stamps the owner from the API key and checks every message.
using worker_session_actor = worker_endpoint_actor::extend_with<worker_actor>;

/// An AI Horde-style HTTP worker, as the gateway keeps it: to the scheduler a worker (tasks pushed to it wait
/// until the worker pops them), to the gateway the place to pop from and submit to.
using http_worker_actor = worker_actor::extend<
    // Pop: the worker's current registration; up to one task, after waiting at most the given milliseconds.
    caf::replies_to<pop_atom, pb<v1::WorkerRegistration>, uint32_t>::with<std::vector<pb<v1::TaskSpec>>>,
    // Submit: the image id from the pop, the result (empty image: a fault) -> the owner's reward in
    // milli-kudos.
    caf::replies_to<result_atom, uuid, pb<v1::GenerationResult>>::with<int64_t>, caf::reacts_to<tick_atom>>;

/// The one actor a core publishes on its port. Logging in with an API key returns a session bound to that key
/// and to the caller's actor (the session ends when that actor goes away or its node disconnects). Internal
/// actors never cross the wire.
using entrance_actor =
    caf::typed_actor<caf::replies_to<client_login_atom, std::string, caf::actor>::with<client_session_actor>,
                     caf::replies_to<worker_login_atom, std::string, caf::actor>::with<worker_session_actor>>;

}  // namespace crowdiff
