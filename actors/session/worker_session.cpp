#include "actors/session/worker_session.hpp"

#include <caf/all.hpp>

#include "common/log.hpp"
#include "protocol/errors.hpp"

namespace crowdiff {
namespace {

using self_ptr = worker_session_actor::stateful_pointer<worker_session_state>;

// Worker messages count only from the worker that logged in, for the id it was given.
bool from_peer(self_ptr self, uint64_t worker_id) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (!sender || caf::actor_cast<caf::actor_addr>(sender) != st.options.peer.address())
    return false;
  return st.worker_id != 0 && worker_id == st.worker_id;
}

}  // namespace

worker_session_actor::behavior_type worker_session_fn(self_ptr self, worker_session_options options) {
  self->state.options = std::move(options);
  self->monitor(self->state.options.peer);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.options.peer.address()) {
      log::info("session_closed").kv("role", "worker").kv("worker", self->state.worker_id);
      self->quit();
    }
  });
  return {
      // From the remote worker.
      [self](join_atom, pb<v1::WorkerRegistration>& reg,
             const worker_actor& worker) -> caf::result<uint64_t> {
        auto& st = self->state;
        if (!worker || worker.address() != st.options.peer.address())
          return make_error(errc::permission_denied, "a session joins only the worker that logged in");
        if (st.worker_id != 0)
          return make_error(errc::failed_precondition, "this session has joined already");
        reg.value.set_owner_user_id(st.options.owner.user_id);  // the key decides the owner, not the message
        auto rp = self->make_response_promise<uint64_t>();
        self->request(st.options.scheduler, caf::infinite, join_atom::value, std::move(reg),
                      caf::actor_cast<worker_actor>(self))
            .then(
                [self, rp](uint64_t id) mutable {
                  self->state.worker_id = id;
                  rp.deliver(id);
                },
                [rp](const caf::error& e) mutable { rp.deliver(e); });
        return rp;
      },
      [self](leave_atom, uint64_t id) {
        if (from_peer(self, id))
          self->send(self->state.options.scheduler, leave_atom::value, id);
      },
      [self](progress_atom, uint64_t id, uint64_t assignment, uint32_t step, uint32_t total) {
        if (from_peer(self, id))
          self->send(self->state.options.scheduler, progress_atom::value, id, assignment, step, total);
      },
      [self](result_atom, uint64_t id, uint64_t assignment, pb<v1::GenerationResult>& result) {
        if (!from_peer(self, id)) {
          log::warning("session_rejected").kv("role", "worker").kv("message", "result");
          return;
        }
        self->send(self->state.options.scheduler, result_atom::value, id, assignment, std::move(result));
      },
      [self](fault_atom, uint64_t id, uint64_t assignment, const caf::error& fault) {
        if (from_peer(self, id))
          self->send(self->state.options.scheduler, fault_atom::value, id, assignment, fault);
      },
      [self](models_atom, uint64_t id, pb<v1::WorkerRegistration>& reg) {
        if (!from_peer(self, id))
          return;
        reg.value.set_owner_user_id(self->state.options.owner.user_id);
        self->send(self->state.options.scheduler, models_atom::value, id, std::move(reg));
      },
      // From the scheduler.
      [self](run_atom, pb<v1::TaskSpec>& spec) {
        self->send(caf::actor_cast<worker_actor>(self->state.options.peer), run_atom::value, std::move(spec));
      },
      [self](cancel_atom, uint64_t assignment) {
        self->send(caf::actor_cast<worker_actor>(self->state.options.peer), cancel_atom::value, assignment);
      },
      [self](drain_atom) {
        self->send(caf::actor_cast<worker_actor>(self->state.options.peer), drain_atom::value);
      },
  };
}

}  // namespace crowdiff
