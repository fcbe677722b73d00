#include "actors/node/remote_uplink.hpp"

#include <deque>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "common/log.hpp"
#include "protocol/errors.hpp"

namespace crowdiff {

struct remote_uplink_state {
  struct waiter {
    caf::typed_response_promise<worker_endpoint_actor> promise;
    caf::actor worker;
  };

  remote_uplink_options options;
  entrance_actor entrance;
  std::deque<waiter> waiting;
  std::chrono::milliseconds backoff{100};
  bool connecting = false;
  bool logging_in = false;
  bool retry_scheduled = false;
  static inline const char* name = "crowdiff.uplink";
};

namespace {

using self_ptr = remote_uplink_actor::stateful_pointer<remote_uplink_state>;

void serve(self_ptr self);

void retry_later(self_ptr self, const std::string& why) {
  auto& st = self->state;
  log::warning("core_unreachable")
      .kv("core", st.options.host + ":" + std::to_string(st.options.port))
      .kv("retry_ms", st.backoff.count())
      .kv("reason", why);
  if (!st.retry_scheduled) {
    st.retry_scheduled = true;
    self->delayed_send(self, st.backoff, tick_atom::value);
  }
  st.backoff = std::min(st.backoff * 2, st.options.max_backoff);
}

void login_next(self_ptr self) {
  auto& st = self->state;
  if (st.waiting.empty() || !st.entrance || st.logging_in)
    return;
  st.logging_in = true;
  auto w = st.waiting.front();
  self->request(st.entrance, std::chrono::seconds(10), worker_login_atom::value, st.options.api_key, w.worker)
      .then(
          [self](worker_session_actor& session) {
            auto& s = self->state;
            s.logging_in = false;
            s.backoff = std::chrono::milliseconds(100);
            auto front = s.waiting.front();
            s.waiting.pop_front();
            front.promise.deliver(worker_endpoint_actor{std::move(session)});
            login_next(self);
          },
          [self](const caf::error& e) {
            auto& s = self->state;
            s.logging_in = false;
            auto why = to_status(e);
            if (why.code() == errc::unauthenticated || why.code() == errc::permission_denied) {
              // A wrong key stays wrong: tell every waiting worker.
              log::error("worker_login_refused").kv("reason", why.to_string());
              for (auto& waiting : s.waiting)
                waiting.promise.deliver(e);
              s.waiting.clear();
              return;
            }
            s.entrance = nullptr;
            retry_later(self, why.to_string());
          });
}

void serve(self_ptr self) {
  auto& st = self->state;
  if (st.waiting.empty() || st.connecting || st.logging_in)
    return;
  if (st.entrance) {
    login_next(self);
    return;
  }
  st.connecting = true;
  self->request(st.options.connector, std::chrono::seconds(10), caf::connect_atom::value, st.options.host,
                st.options.port)
      .then(
          [self](const caf::node_id&, caf::strong_actor_ptr& remote, const std::set<std::string>&) {
            auto& s = self->state;
            s.connecting = false;
            if (!remote) {
              retry_later(self, "no actor is published there");
              return;
            }
            s.entrance = caf::actor_cast<entrance_actor>(std::move(remote));
            self->monitor(s.entrance);
            log::info("core_connected").kv("core", s.options.host + ":" + std::to_string(s.options.port));
            login_next(self);
          },
          [self](const caf::error& e) {
            self->state.connecting = false;
            retry_later(self, self->system().render(e));
          });
}

}  // namespace

remote_uplink_actor::behavior_type remote_uplink_fn(self_ptr self, remote_uplink_options options) {
  self->state.options = std::move(options);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (st.entrance && msg.source == st.entrance.address()) {
      log::warning("core_connection_lost")
          .kv("core", st.options.host + ":" + std::to_string(st.options.port));
      st.entrance = nullptr;
    }
  });
  return {
      [self](uplink_atom) -> caf::result<worker_endpoint_actor> {
        // Read the sender first: making the response promise takes it over.
        auto worker = caf::actor_cast<caf::actor>(self->current_sender());
        if (!worker)
          return make_error(errc::invalid_argument, "the uplink serves worker actors");
        auto rp = self->make_response_promise<worker_endpoint_actor>();
        self->state.waiting.push_back({rp, worker});
        serve(self);
        return rp;
      },
      [self](tick_atom) {
        self->state.retry_scheduled = false;
        serve(self);
      },
  };
}

uplink_actor spawn_remote_uplink(caf::actor_system& system, remote_uplink_options options) {
  return system.spawn(remote_uplink_fn, std::move(options));
}

}  // namespace crowdiff
