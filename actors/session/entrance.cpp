#include "actors/session/entrance.hpp"

#include <caf/all.hpp>

#include "actors/session/client_session.hpp"
#include "actors/session/worker_session.hpp"
#include "common/log.hpp"
#include "persistence/user_table.hpp"
#include "protocol/errors.hpp"

namespace crowdiff {
namespace {

result<bool> is_admin(persistence::store& store, uint64_t user) {
  auto txn = store.read();
  if (!txn)
    return txn.error();
  auto rec = persistence::user_table::get(**txn, user);
  if (!rec)
    return rec.error();
  return rec->has_value() && (*rec)->admin();
}

}  // namespace

entrance_actor::behavior_type entrance_fn(entrance_actor::pointer self, entrance_options options) {
  // Sessions are linked to the entrance so they end with it; a session ending on its own does not end it.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.reason == caf::exit_reason::user_shutdown || msg.reason == caf::exit_reason::kill)
      self->quit(msg.reason);
  });
  return {
      [self, options](client_login_atom, const std::string& api_key,
                      const caf::actor& peer) -> caf::result<client_session_actor> {
        auto who = detail::authenticate(*options.store, api_key);
        if (!who) {
          log::warning("login_refused").kv("role", "client").kv("reason", who.error().message());
          return to_error(who.error());
        }
        if (!peer)
          return make_error(errc::invalid_argument, "a login names the client's actor");
        auto admin = is_admin(*options.store, who->user_id);
        if (!admin)
          return to_error(admin.error());
        client_session_options o{*who,           api_key,           *admin,        peer,
                                 options.broker, options.scheduler, options.ledger};
        auto session = self->spawn<caf::linked>(client_session_fn, std::move(o));
        log::info("session_open").kv("role", "client").kv("user", who->user_id);
        return session;
      },
      [self, options](worker_login_atom, const std::string& api_key,
                      const caf::actor& peer) -> caf::result<worker_session_actor> {
        auto who = detail::authenticate(*options.store, api_key);
        if (!who) {
          log::warning("login_refused").kv("role", "worker").kv("reason", who.error().message());
          return to_error(who.error());
        }
        if (who->anonymous)
          return make_error(errc::permission_denied, "the anonymous account cannot run workers");
        if (!peer)
          return make_error(errc::invalid_argument, "a login names the worker's actor");
        auto session = self->spawn<caf::linked>(worker_session_fn,
                                                worker_session_options{*who, peer, options.scheduler});
        log::info("session_open").kv("role", "worker").kv("user", who->user_id);
        return session;
      },
  };
}

}  // namespace crowdiff
