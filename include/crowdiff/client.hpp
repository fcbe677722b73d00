#pragma once

// crowdiff's C++ client library: submit jobs to a core, follow their progress, fetch images, manage kudos.
// Everything runs through one logged-in session on the core; a lost connection is re-established by itself.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "common/uuid.hpp"
#include "crowdiff/v1/job.pb.h"
#include "crowdiff/v1/ledger.pb.h"
#include "crowdiff/v1/result.pb.h"
#include "crowdiff/v1/user.pb.h"

namespace crowdiff {

struct client_options {
  std::string host = "127.0.0.1";
  uint16_t port = 7841;
  std::string api_key = "0000000000";  ///< the anonymous key unless given
  bool tls = false;                    ///< connect with TLS (the core must serve TLS)
  std::string ca_file;      ///< with tls: the CA that signed the core's (and this client's) certificate
  std::string certificate;  ///< with tls: this client's certificate (PEM); CAF's TLS checks both ends
  std::string key;          ///< with tls: its private key (PEM)
  std::chrono::milliseconds request_timeout{
      10'000};  ///< a request unanswered this long counts as a lost connection
  std::chrono::milliseconds reconnect_for{60'000};  ///< how long to keep trying when the core is away
};

/// A live worker as the core sees it.
struct worker_info {
  uint64_t id = 0;
  std::string name;
  uint64_t owner = 0;
  std::vector<std::string> models;
  double mps_per_s = 0;  ///< measured megapixel-steps per second
  uint32_t slots = 0;
  uint32_t busy = 0;
  std::string device;
  uint64_t images_done = 0;  ///< lifetime
  int64_t kudos_earned_mk = 0;
};

/// What `wait` returns: the final status and every delivered image.
struct job_outcome {
  v1::JobStatus status;
  std::vector<v1::GenerationResult> images;  ///< in image order
};

/// Called from `wait` for every event of the job: STATE (including a refresh with estimates about once a
/// second), PROGRESS (image i at step s of n) and IMAGE.
using job_event_fn = std::function<void(const v1::JobEvent&)>;

class client {
 public:
  /// Connects to the core and logs in. Errors: unavailable (nothing answers there within reconnect_for),
  /// unauthenticated (the key is wrong).
  static result<std::unique_ptr<client>> connect(client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Submits a job; the reply has its id, price, queue position and estimates. Safe to call again after a
  /// lost connection: a random idempotency key is attached when the request has none.
  result<v1::SubmitReply> submit(v1::JobRequest request);
  result<v1::KudosQuote> quote(const v1::JobRequest& request);
  result<v1::JobStatus> status(const uuid& job);
  result<v1::JobStatus> cancel(const uuid& job);
  result<v1::GenerationResult> fetch(const uuid& job, uint32_t index);

  /// Follows the job until it ends, calling `on_event` as it goes. deadline_exceeded after `limit`.
  result<job_outcome> wait(const uuid& job, const job_event_fn& on_event = {},
                           std::chrono::milliseconds limit = std::chrono::hours(1));
  /// Follows several jobs at once; outcomes in the order given.
  result<std::vector<job_outcome>> wait_all(const std::vector<uuid>& jobs, const job_event_fn& on_event = {},
                                            std::chrono::milliseconds limit = std::chrono::hours(1));

  result<v1::Balance> balance();
  /// Moves kudos (milli-kudos) to the user named `to`. The same idempotency key moves them only once.
  result<v1::LedgerEntry> transfer(const std::string& to, int64_t amount_mk,
                                   const std::string& idempotency_key = {});
  result<std::vector<worker_info>> workers();
  /// Admin only: mints kudos for the user named `user`; the same `cause` grants only once.
  result<v1::LedgerEntry> grant(const std::string& user, int64_t amount_mk, const std::string& cause);
  /// Admin only: the books' totals (minted, burned, the sum of balances).
  result<v1::LedgerAudit> audit();
  /// Admin only: creates a user; returns it and its API key (shown only this once).
  result<std::pair<v1::UserRecord, std::string>> add_user(const std::string& name);

 private:
  struct impl;
  explicit client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace crowdiff
