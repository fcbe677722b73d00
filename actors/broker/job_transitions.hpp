#pragma once

// How a stored job record changes: the Broker runs these inside the store transaction that writes the record
// (broker_detail::update_job), so a change and its record are durable together. Each checks that the change
// is still allowed by the record as stored, because the commit queue may run an operation after other changes
// (or more than once).

#include <cstdint>
#include <string>

#include "common/status.hpp"
#include "common/uuid.hpp"
#include "crowdiff/v1/job.pb.h"
#include "persistence/ledger_book.hpp"

namespace crowdiff::broker {

/// Everything a new job's record is made of besides the (admitted) request.
struct acceptance {
  uuid id;
  uint64_t owner = 0;
  bool anonymous = false;
  double priority = 0;       ///< the requester's kudos at submission (anonymous: the configured priority)
  uint64_t sequence = 0;     ///< submission order
  uint64_t random_seed = 0;  ///< used when the request has no seed
  int64_t now_ms = 0;
  uint64_t default_expiry_s = 0;
};

/// The record of a job just accepted: QUEUED, with a seed (its own or `random_seed`), a sampler (the default
/// when unspecified), one pending slot per image (seeds spaced by seed_variation) and an expiry. The
/// anonymous account's idempotency key is dropped: everyone without a key shares that account, and a key
/// would let one stranger's submit return another's job.
v1::JobRecord accepted_record(v1::JobRequest request, const v1::KudosQuote& quote, const acceptance& a);

/// When every image has an outcome, the job has one too: FAILED if any image failed (with the first failed
/// image's reason), else CANCELLED if any was cancelled, else DONE.
void resolve(v1::JobRecord& record, int64_t now_ms);

/// Cancels every image without an outcome, and the job. A job that has ended is left as it is (ok).
status cancel(v1::JobRecord& record, int64_t now_ms);

/// Whether image `index` may still get an outcome: failed_precondition when the job has ended,
/// already_exists when the image has one, invalid_argument for an index the job does not have.
status check_open(const v1::JobRecord& record, uint32_t index);

/// Image `index` was delivered by `worker` and settled as `paid`; the job runs (or ends, see resolve).
/// Call check_open first.
void record_delivery(v1::JobRecord& record, uint32_t index, uint64_t worker,
                     const persistence::settlement& paid, int64_t now_ms);

/// Image `index` failed for good with `code` and `reason` (see check_open for the refusals).
status record_failure(v1::JobRecord& record, uint32_t index, errc code, const std::string& reason,
                      int64_t now_ms);

}  // namespace crowdiff::broker
