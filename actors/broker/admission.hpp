#pragma once

#include <cstdint>

#include "common/status.hpp"
#include "crowdiff/v1/config.pb.h"
#include "crowdiff/v1/job.pb.h"

namespace crowdiff::broker {

/// What a requester already has in flight: their unfinished jobs (for the anonymous account, every
/// stranger's, since they share it).
struct requester_load {
  uint32_t jobs = 0;
  uint32_t images = 0;      ///< images of the unfinished jobs, counted whole until the job ends
  int64_t reserved_mk = 0;  ///< the price of those images that have no outcome yet
};

/// Adds an unfinished job to a load.
void add_job(requester_load& load, const v1::JobRecord& record);
/// Takes a job out of a load, as it was when added (or last replaced: see job_book::adopt).
void remove_job(requester_load& load, const v1::JobRecord& record);

/// Who submits, as admission needs to know them.
struct requester {
  bool anonymous = false;
  int64_t balance_mk = 0;
  requester_load load;
};

/// A request admitted: as it will run, and what it costs.
struct admitted {
  v1::JobRequest request;  ///< shrunk to the free limits when downgraded
  v1::KudosQuote quote;
  bool downgraded = false;
};

/// Steps as the free limit counts them: the steps that run (img2img starts part-way) times the model calls
/// a step of its sampler costs.
uint32_t counted_steps(const v1::JobRequest& request);

/// Whether a request is over the free limits (`free_max_pixels`, `free_max_steps`), so that it needs its
/// price in hand.
bool needs_upfront(const v1::JobRequest& request, const v1::LimitsConfig& limits);

/// The request shrunk to the free limits, as the AI Horde's downgrade: the size scaled down with its aspect
/// kept (sides multiples of 64, at least 64), then the steps cut until their count fits. Unchanged when it
/// fits already.
v1::JobRequest downgrade(v1::JobRequest request, const v1::LimitsConfig& limits);

/// Decides a validated submission, a pure function of the request, the requester and the node's config:
/// - concurrency: a registered user has at most `max_concurrent_jobs` unfinished jobs and
///   `max_concurrent_images` unfinished images; the anonymous account shares
///   `anonymous_max_concurrent_images` among all strangers;
/// - upfront kudos: over the free limits, the whole price must be in hand (balance less what the user's
///   unfinished images will still cost); the anonymous account never has it. Lacking it, a request with
///   `allow_downgrade` is shrunk to the free limits, any other is refused.
/// Errors: resource_exhausted (a concurrency limit), insufficient_kudos (the price is not in hand),
/// invalid_argument (a request with no work to price).
result<admitted> admit(v1::JobRequest request, const requester& who, const v1::NodeConfig& config);

/// What a dry run quotes: exactly what `admit` would charge this requester (the downgraded request's price
/// when it would be shrunk; the full price when it would be refused for upfront kudos, which is what the
/// requester needs in hand). Concurrency is not checked. Errors: invalid_argument.
result<admitted> quote_for(v1::JobRequest request, const requester& who, const v1::NodeConfig& config);

}  // namespace crowdiff::broker
