#pragma once

// crowdiff's CAF type-ID block: every message value type and atom, registered once (see setup.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/type_id.hpp>

#include "protocol/messages.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(crowdiff, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(crowdiff, (crowdiff::uuid))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::queue_estimate))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::worker_summary))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::worker_summaries))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::scheduler_load))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::model_stat))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::model_stats))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::image_totals))
CAF_ADD_TYPE_ID(crowdiff, (std::vector<crowdiff::pb<crowdiff::v1::TaskSpec>>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::JobRequest>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::JobRecord>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::JobStatus>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::JobEvent>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::SubmitReply>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::KudosQuote>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::GenerationResult>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::WorkerRegistration>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::TaskSpec>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::Balance>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::LedgerEntry>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::LedgerAudit>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::UserRecord>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::WorkerChanges>))
CAF_ADD_TYPE_ID(crowdiff, (crowdiff::pb<crowdiff::v1::WorkerRecord>))
CAF_ADD_TYPE_ID(crowdiff, (std::vector<std::string>))

// Clients -> broker
CAF_ADD_ATOM(crowdiff, crowdiff, submit_atom, "submit")
CAF_ADD_ATOM(crowdiff, crowdiff, status_atom, "status")
CAF_ADD_ATOM(crowdiff, crowdiff, cancel_atom, "cancel")
CAF_ADD_ATOM(crowdiff, crowdiff, fetch_atom, "fetch")
CAF_ADD_ATOM(crowdiff, crowdiff, subscribe_atom, "subscribe")
// Broker -> subscribers
CAF_ADD_ATOM(crowdiff, crowdiff, event_atom, "event")
CAF_ADD_ATOM(crowdiff, crowdiff, image_atom, "image")
// Workers <-> scheduler
CAF_ADD_ATOM(crowdiff, crowdiff, join_atom, "join")
CAF_ADD_ATOM(crowdiff, crowdiff, leave_atom, "leave")
CAF_ADD_ATOM(crowdiff, crowdiff, run_atom, "run")
CAF_ADD_ATOM(crowdiff, crowdiff, progress_atom, "progress")
CAF_ADD_ATOM(crowdiff, crowdiff, result_atom, "result")
CAF_ADD_ATOM(crowdiff, crowdiff, fault_atom, "fault")
CAF_ADD_ATOM(crowdiff, crowdiff, models_atom, "models")
CAF_ADD_ATOM(crowdiff, crowdiff, drain_atom, "drain")
CAF_ADD_ATOM(crowdiff, crowdiff, generated_atom, "generated")
// Broker <-> scheduler
CAF_ADD_ATOM(crowdiff, crowdiff, enqueue_atom, "enqueue")
CAF_ADD_ATOM(crowdiff, crowdiff, estimate_atom, "estimate")
CAF_ADD_ATOM(crowdiff, crowdiff, started_atom, "started")
CAF_ADD_ATOM(crowdiff, crowdiff, completed_atom, "completed")
CAF_ADD_ATOM(crowdiff, crowdiff, failed_atom, "failed")
CAF_ADD_ATOM(crowdiff, crowdiff, requeued_atom, "requeued")
CAF_ADD_ATOM(crowdiff, crowdiff, catalog_atom, "catalog")
CAF_ADD_ATOM(crowdiff, crowdiff, workers_atom, "workers")
CAF_ADD_ATOM(crowdiff, crowdiff, attach_atom, "attach")
// Network: logins and uplinks
CAF_ADD_ATOM(crowdiff, crowdiff, client_login_atom, "clogin")
CAF_ADD_ATOM(crowdiff, crowdiff, worker_login_atom, "wlogin")
CAF_ADD_ATOM(crowdiff, crowdiff, uplink_atom, "uplink")
// Statistics and HTTP workers
CAF_ADD_ATOM(crowdiff, crowdiff, load_atom, "load")
CAF_ADD_ATOM(crowdiff, crowdiff, model_stats_atom, "mstats")
CAF_ADD_ATOM(crowdiff, crowdiff, stats_atom, "stats")
CAF_ADD_ATOM(crowdiff, crowdiff, pop_atom, "pop")
CAF_ADD_ATOM(crowdiff, crowdiff, edit_atom, "edit")
CAF_ADD_ATOM(crowdiff, crowdiff, credit_atom, "credit")
// Ledger
CAF_ADD_ATOM(crowdiff, crowdiff, quote_atom, "quote")
CAF_ADD_ATOM(crowdiff, crowdiff, balance_atom, "balance")
CAF_ADD_ATOM(crowdiff, crowdiff, transfer_atom, "transfer")
CAF_ADD_ATOM(crowdiff, crowdiff, user_add_atom, "useradd")
CAF_ADD_ATOM(crowdiff, crowdiff, grant_atom, "grant")
CAF_ADD_ATOM(crowdiff, crowdiff, audit_atom, "audit")
CAF_ADD_ATOM(crowdiff, crowdiff, uptime_atom, "uptime")
// Internal to each actor
CAF_ADD_ATOM(crowdiff, crowdiff, committed_atom, "committed")
CAF_ADD_ATOM(crowdiff, crowdiff, tick_atom, "tick")
CAF_ADD_ATOM(crowdiff, crowdiff, check_atom, "check")
CAF_ADD_ATOM(crowdiff, crowdiff, owed_atom, "owed")

CAF_END_TYPE_ID_BLOCK(crowdiff)
