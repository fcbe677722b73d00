#pragma once

// The Broker's book of active jobs: the Broker's functional core. It holds each unfinished job's last
// committed record and what only memory knows (which images run where, how far), indexes jobs by owner for
// admission, and turns each event into the effects the Broker actor carries out: notices for the job's
// subscribers, the state change to log, and whether the job ended. No CAF, no clock, no store: the actor
// writes records (through job_transitions) and hands the book what was committed.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/broker/admission.hpp"
#include "actors/broker/job_status.hpp"
#include "common/uuid.hpp"
#include "crowdiff/v1/job.pb.h"

namespace crowdiff::broker {

/// An unfinished job as the Broker holds it.
struct active_job {
  v1::JobRecord record;          ///< as last committed
  std::vector<live_image> live;  ///< one per image
  bool started = false;          ///< a worker has begun on one of its images (memory only: see logical_state)
  uint32_t restarted = 0;        ///< images sent back to the queue
  bool watched = false;          ///< someone subscribed to its events
};

/// The state a requester sees: a stored QUEUED job is RUNNING once a worker has started on it. Running is
/// not written: after a crash the job waits again anyway.
v1::JobState logical_state(const active_job& job);

/// A job event for the job's subscribers; `with_image` asks the actor to send the delivered image after it.
struct notice {
  v1::JobEvent event;
  bool with_image = false;
};

/// A state change of a job, for the log.
struct state_change {
  uuid job;
  uint64_t user = 0;
  int images = 0;
  v1::JobState from = v1::JOB_STATE_UNSPECIFIED;
  v1::JobState to = v1::JOB_STATE_UNSPECIFIED;
  std::string reason;  ///< the failure reason, when `to` is FAILED
};

/// What the actor does after an event, in this order: log the state change, send the notices (only watched
/// jobs get any), and when the job ended forget its subscribers.
struct book_effects {
  std::vector<notice> notices;
  std::optional<state_change> changed;
  bool ended = false;
};

class job_book {
 public:
  /// A job just accepted (its record is QUEUED and being written).
  void add(const v1::JobRecord& record);
  /// A job read back from the store after a restart: started when any of its images has an outcome.
  void restore(const uuid& id, v1::JobRecord record);
  /// Takes a job out without an outcome (its submission was not stored). False when it is not here.
  bool remove(const uuid& id);

  /// A worker began image `index`.
  book_effects start(const uuid& id, uint32_t index, uint64_t worker, const std::string& worker_name);
  /// A worker reports progress on image `index`.
  book_effects progress(const uuid& id, uint32_t index, uint32_t step, uint32_t total);
  /// Image `index` went back to the queue (its worker left or failed it).
  book_effects requeue(const uuid& id, uint32_t index);
  /// Image `index` is getting an outcome (being written): it no longer runs. False for an unknown job or
  /// index: the event is stale and changes nothing.
  bool close_image(const uuid& id, uint32_t index);
  /// The record as committed replaces the one held. `delivered` names the image whose delivery was
  /// committed (an IMAGE notice with the image). A job whose state became final ends and leaves the book.
  book_effects adopt(const uuid& id, v1::JobRecord committed,
                     std::optional<uint32_t> delivered = std::nullopt);
  /// Marks the job watched and returns its status; nullopt when it is not active.
  std::optional<v1::JobStatus> watch(const uuid& id);

  const active_job* find(const uuid& id) const;
  /// An active job's status, in its logical state, with the scheduler's estimate (or none).
  v1::JobStatus status(const active_job& job, const queue_estimate* estimate) const;
  /// What `user` has in flight, for admission. Kept as jobs change, so a submit costs the same however many
  /// jobs its requester has waiting.
  requester_load load_of(uint64_t user) const;
  size_t size() const { return jobs_.size(); }
  const std::unordered_map<uuid, active_job, uuid_hash>& jobs() const { return jobs_; }

 private:
  void count_load(const v1::JobRecord& record);
  void uncount_load(const v1::JobRecord& record);
  void add_notice(book_effects& fx, const active_job& job, v1::JobEvent::Kind kind, uint32_t index = 0,
                  uint32_t step = 0, uint32_t total = 0) const;

  std::unordered_map<uuid, active_job, uuid_hash> jobs_;
  std::unordered_map<uint64_t, requester_load> loads_;  ///< per owner: the sum of their jobs' loads
};

}  // namespace crowdiff::broker
