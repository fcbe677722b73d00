#include "actors/session/client_session.hpp"

#include <caf/all.hpp>

#include "common/log.hpp"
#include "protocol/errors.hpp"

namespace crowdiff {

client_session_actor::behavior_type client_session_fn(
    client_session_actor::stateful_pointer<client_session_state> self, client_session_options options) {
  self->state.options = std::move(options);
  self->monitor(self->state.options.peer);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.options.peer.address()) {
      log::info("session_closed").kv("role", "client").kv("user", self->state.options.user.user_id);
      self->quit();
    }
  });
  return {
      [self](submit_atom, pb<v1::JobRequest>& request) {
        auto& s = self->state.options;
        return self->delegate(s.broker, submit_atom::value, s.api_key, std::move(request));
      },
      [self](quote_atom, pb<v1::JobRequest>& request) {
        auto& s = self->state.options;
        return self->delegate(s.broker, quote_atom::value, s.api_key, std::move(request));
      },
      [self](status_atom, const uuid& job) {
        return self->delegate(self->state.options.broker, status_atom::value, job);
      },
      [self](cancel_atom, const uuid& job) {
        return self->delegate(self->state.options.broker, cancel_atom::value, job);
      },
      [self](fetch_atom, const uuid& job, uint32_t index) {
        return self->delegate(self->state.options.broker, fetch_atom::value, job, index);
      },
      [self](subscribe_atom, const uuid& job, const caf::actor& listener) {
        return self->delegate(self->state.options.broker, subscribe_atom::value, job, listener);
      },
      [self](balance_atom) {
        auto& s = self->state.options;
        return self->delegate(s.ledger, balance_atom::value, s.api_key);
      },
      [self](transfer_atom, const std::string& to, int64_t amount_mk, const std::string& idempotency_key) {
        auto& s = self->state.options;
        return self->delegate(s.ledger, transfer_atom::value, s.api_key, to, amount_mk, idempotency_key);
      },
      [self](workers_atom) { return self->delegate(self->state.options.scheduler, workers_atom::value); },
      [self](user_add_atom, const std::string& name) -> caf::result<pb<v1::UserRecord>, std::string> {
        auto& s = self->state.options;
        if (!s.admin)
          return make_error(errc::permission_denied, "only an admin can create users");
        return self->delegate(s.ledger, user_add_atom::value, name);
      },
      [self](grant_atom, const std::string& user, int64_t amount_mk,
             const std::string& cause) -> caf::result<pb<v1::LedgerEntry>> {
        auto& s = self->state.options;
        if (!s.admin)
          return make_error(errc::permission_denied, "only an admin can grant kudos");
        return self->delegate(s.ledger, grant_atom::value, user, amount_mk, cause);
      },
      [self](audit_atom) -> caf::result<pb<v1::LedgerAudit>> {
        auto& s = self->state.options;
        if (!s.admin)
          return make_error(errc::permission_denied, "only an admin can audit the books");
        return self->delegate(s.ledger, audit_atom::value);
      },
  };
}

}  // namespace crowdiff
