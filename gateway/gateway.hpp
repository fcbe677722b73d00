#pragma once

#include <cstdint>
#include <memory>

#include <caf/actor_system.hpp>

#include "actors/node/core_node.hpp"
#include "common/status.hpp"
#include "crowdiff/v1/config.pb.h"
#include "persistence/store.hpp"

namespace crowdiff::gateway {

/// The HTTP gateway of a core: the AI Horde v2 API under /api/v2 (so its clients and workers work unchanged),
/// live job events (Server-Sent Events), webhooks, the web page, and image links. It runs in the core's
/// process and speaks to the core's actors; HTTP workers (pop/submit) become workers of the same Scheduler.
class http_gateway {
 public:
  /// Starts listening on `config.gateway()` (defaults applied). unavailable when the port cannot be bound.
  static result<std::unique_ptr<http_gateway>> start(caf::actor_system& system, const core_handles& core,
                                                     persistence::store& store, const v1::NodeConfig& config);
  ~http_gateway();

  uint16_t port() const;
  /// Stops serving and ends the HTTP workers (their tasks go back to the queue). Requests to the core that
  /// were in flight may still answer afterwards into the gateway's state: destroy the gateway only once the
  /// actor system has no actors left (as core_runtime does), not merely after stop().
  void stop();

 private:
  struct impl;
  explicit http_gateway(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace crowdiff::gateway
