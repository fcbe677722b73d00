#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "common/status.hpp"
#include "common/uuid.hpp"
#include "gateway/webhooks.hpp"
#include "persistence/store.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff::gateway {

/// The jobs whose requesters asked for a webhook, each followed by a small actor subscribed to the Broker
/// that hands the job's events to the webhook_sender: `image` for every image as it is ready and one `done`
/// when the job ends (body shapes: gateway/README.md). With a store, a job stays in its `webhooks_owed`
/// table (written by the Broker with the job) until its `done` is delivered or given up on, so one that a
/// process ended with still owes (queued, waiting for a retry, cut short by stop, or lost in a crash) is
/// POSTed by the next one. Its users must stop() it before the sender, the image link function and the store
/// go away.
class webhook_watchers {
 public:
  /// `image_link(job, index)`: the URL of an image, as `/v2/generate/status` gives it.
  using image_link_fn = std::function<std::string(const uuid& job, uint32_t index)>;

  /// `store`: where owed `done`s are recorded; none when null.
  webhook_watchers(caf::actor_system& system, broker_actor broker, webhook_sender& sender,
                   image_link_fn image_link, persistence::store* store = nullptr);
  /// Stops (see stop()).
  ~webhook_watchers();
  webhook_watchers(const webhook_watchers&) = delete;
  webhook_watchers& operator=(const webhook_watchers&) = delete;

  /// Follows `job` until it ends. Images that are already done when the subscription starts are POSTed
  /// first, and a job that has already ended gets its `done` at once, so nothing is missed between the
  /// submit and the subscription. A job already followed is not followed twice; after stop() nothing is.
  void watch(const uuid& job, const webhook_url& url);

  /// After a restart: follows every job in the store that has a webhook and is unfinished (QUEUED or
  /// RUNNING) or still owed its `done`, so a job accepted before the restart still calls its webhook and one
  /// that ended while its `done` was undelivered gets it now. Images finished before the restart are POSTed
  /// again (their first POST may have been lost with the process). Plain http webhooks only when
  /// `allow_http` (gateway.webhook_http_loopback); others are skipped with a log line and no longer owed, as
  /// are owed jobs the store no longer holds. The number of jobs followed, or the store's error.
  result<size_t> rearm(bool allow_http);

  /// Ends every follower and waits (bounded) until they are gone. Idempotent.
  void stop();

  /// Jobs followed now.
  size_t watching() const;

 private:
  void follow(const uuid& job, const webhook_url& url);
  void forget(const uuid& job);

  caf::actor_system& system_;
  broker_actor broker_;
  webhook_sender& sender_;
  image_link_fn image_link_;
  persistence::store* store_;
  mutable std::mutex mutex_;
  std::map<uuid, caf::actor> followers_;
  bool stopped_ = false;
};

}  // namespace crowdiff::gateway
