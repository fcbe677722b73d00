#pragma once

#include <chrono>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "protocol/errors.hpp"

namespace crowdiff::gateway {

/// Sends one request to an actor from outside the actor world (an HTTP handler) without blocking: a
/// short-lived actor makes the request and calls `on_value(results...)` (a lambda with the reply's concrete
/// types) or `on_error(status)` on a CAF thread. The actor has no behaviour of its own, so it ends after the
/// reply.
template <class Handle, class OnValue, class OnError, class... Ts>
void ask(caf::actor_system& system, const Handle& dest, std::chrono::milliseconds timeout, OnValue on_value,
         OnError on_error, Ts... xs) {
  // The timeout goes in as a spawn argument: CAF 0.17 dereferences a null pointer to an empty argument tuple
  // when a function actor takes no arguments (undefined behaviour that UBSan reports).
  system.spawn(
      [=](caf::event_based_actor* self, std::chrono::milliseconds limit) mutable {
        self->request(dest, limit, std::move(xs)...)
            .then(std::move(on_value), [on_error](const caf::error& e) mutable { on_error(to_status(e)); });
      },
      timeout);
}

}  // namespace crowdiff::gateway
