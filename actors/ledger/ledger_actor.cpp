#include "actors/ledger/ledger_actor.hpp"

#include <functional>
#include <memory>

#include <caf/all.hpp>

#include "actors/detail/authenticate.hpp"
#include "actors/ledger/accounting.hpp"
#include "actors/ledger/ledger_state.hpp"
#include "actors/ledger/pricing.hpp"
#include "common/api_key.hpp"
#include "common/log.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/user_table.hpp"
#include "protocol/errors.hpp"

// The Ledger's handlers gather what an event needs (who asks, the records it names), let the accounting core
// (actors/ledger/accounting) decide, write its decision through the group-commit queue and reply once the
// write is durable.

namespace crowdiff {
namespace {

using self_ptr = ledger_actor::stateful_pointer<ledger_state>;
using persistence::ledger_book;

/// Runs `op` through the group-commit queue; `then` gets its value (or error) in the actor once durable.
template <class Value>
void write_then(self_ptr self, std::function<result<Value>(persistence::write_txn&)> op,
                std::function<void(result<Value>)> then) {
  auto out = std::make_shared<std::optional<Value>>();
  self->state.writes.submit(
      *self->state.options.store, caf::actor_cast<ledger_actor>(self),
      [op = std::move(op), out](persistence::write_txn& txn) -> status {
        auto r = op(txn);
        if (!r)
          return r.error();
        *out = std::move(*r);
        return status::ok();
      },
      [out, then = std::move(then)](const status& outcome) {
        if (!outcome)
          then(outcome);
        else
          then(std::move(**out));
      });
}

/// The user named `name` (nullopt when there is none), read in a snapshot of its own.
result<std::optional<v1::UserRecord>> user_named(self_ptr self, const std::string& name) {
  auto txn = self->state.options.store->read();
  if (!txn)
    return txn.error();
  return persistence::user_table::find_by_name(**txn, name);
}

caf::result<pb<v1::KudosQuote>> on_quote(self_ptr self, const v1::JobRequest& request) {
  auto q = ledger::quote(request, self->state.options.config);
  if (!q)
    return to_error(q.error());
  return pb<v1::KudosQuote>{std::move(*q)};
}

caf::result<pb<v1::Balance>> on_balance(self_ptr self, const std::string& api_key) {
  auto who = detail::authenticate(*self->state.options.store, api_key);
  if (!who)
    return to_error(who.error());
  auto txn = self->state.options.store->read();
  if (!txn)
    return to_error(txn.error());
  auto b = ledger_book::balance(**txn, who->user_id);
  if (!b)
    return to_error(b.error());
  return pb<v1::Balance>{std::move(*b)};
}

caf::result<pb<v1::LedgerEntry>> on_transfer(self_ptr self, const std::string& api_key,
                                             const std::string& to_name, int64_t amount_mk,
                                             const std::string& idempotency_key) {
  auto& s = self->state;
  auto who = detail::authenticate(*s.options.store, api_key);
  if (!who)
    return to_error(who.error());
  auto target = user_named(self, to_name);
  if (!target)
    return to_error(target.error());
  auto plan = ledger::plan_transfer({who->user_id, who->anonymous}, to_name, *target, amount_mk,
                                    idempotency_key, uuid::random(), s.options.config);
  if (!plan)
    return to_error(plan.error());
  auto rp = self->make_response_promise<pb<v1::LedgerEntry>>();
  int64_t now = s.options.now();
  write_then<v1::LedgerEntry>(
      self,
      [plan = std::move(*plan), now](persistence::write_txn& txn) {
        return ledger::apply_transfer(txn, plan, now);
      },
      [rp](result<v1::LedgerEntry> entry) mutable {
        if (!entry) {
          rp.deliver(to_error(entry.error()));
          return;
        }
        log::info("kudos_transfer")
            .kv("from", entry->debit_account())
            .kv("to", entry->credit_account())
            .kv("amount_mk", entry->amount_mk())
            .kv("sequence", entry->sequence());
        rp.deliver(pb<v1::LedgerEntry>{std::move(*entry)});
      });
  return rp;
}

caf::result<pb<v1::UserRecord>, std::string> on_user_add(self_ptr self, const std::string& name) {
  auto& s = self->state;
  if (auto v = persistence::user_table::validate_name(name); !v)
    return to_error(v);
  auto key = generate_api_key();
  auto rp = self->make_response_promise<pb<v1::UserRecord>, std::string>();
  int64_t now = s.options.now();
  write_then<v1::UserRecord>(
      self,
      [name, hash = hash_api_key(key), now](persistence::write_txn& txn) {
        return persistence::user_table::create(txn, name, hash, now);
      },
      [rp, key](result<v1::UserRecord> user) mutable {
        if (!user) {
          rp.deliver(to_error(user.error()));
          return;
        }
        log::info("user_created").kv("user", user->id()).kv("name", user->name());
        rp.deliver(pb<v1::UserRecord>{std::move(*user)}, key);
      });
  return rp;
}

caf::result<pb<v1::LedgerEntry>> on_grant(self_ptr self, uint64_t user_id, int64_t amount_mk,
                                          const std::string& cause) {
  auto grant = ledger::plan_grant(user_id, amount_mk, cause);
  if (!grant)
    return to_error(grant.error());
  auto rp = self->make_response_promise<pb<v1::LedgerEntry>>();
  int64_t now = self->state.options.now();
  write_then<v1::LedgerEntry>(
      self,
      [grant = std::move(*grant), now](persistence::write_txn& txn) {
        return ledger::apply_grant(txn, grant, now);
      },
      [rp](result<v1::LedgerEntry> entry) mutable {
        if (!entry) {
          rp.deliver(to_error(entry.error()));
          return;
        }
        log::info("kudos_grant").kv("user", entry->credit_account()).kv("amount_mk", entry->amount_mk());
        rp.deliver(pb<v1::LedgerEntry>{std::move(*entry)});
      });
  return rp;
}

caf::result<pb<v1::LedgerEntry>> on_grant_named(self_ptr self, const std::string& name, int64_t amount_mk,
                                                const std::string& cause) {
  auto user = user_named(self, name);
  if (!user)
    return to_error(user.error());
  if (!user->has_value())
    return make_error(errc::not_found, "no user named '" + name + "'");
  if (auto ok = ledger::check_grantee(**user); !ok)
    return to_error(ok);
  return on_grant(self, (*user)->id(), amount_mk, cause);
}

caf::result<pb<v1::LedgerAudit>> on_audit(self_ptr self) {
  auto txn = self->state.options.store->read();
  if (!txn)
    return to_error(txn.error());
  auto a = ledger_book::audit(**txn);
  if (!a)
    return to_error(a.error());
  return pb<v1::LedgerAudit>{std::move(*a)};
}

void on_uptime(self_ptr self, uint64_t owner, uint64_t workers, int64_t from_ms, int64_t to_ms) {
  auto pay = ledger::plan_uptime(owner, workers, from_ms, to_ms, self->state.options.config);
  if (!pay)
    return;
  int64_t now = self->state.options.now();
  write_then<bool>(
      self,
      [pay = *pay, now](persistence::write_txn& txn) -> result<bool> {
        if (auto s = ledger::apply_uptime(txn, pay, now); !s)
          return s;
        return true;
      },
      [owner, workers, amount = pay->amount_mk](result<bool> paid) {
        if (!paid) {
          log::error("uptime_reward_failed").kv("owner", owner).kv("error", paid.error().to_string());
          return;
        }
        log::debug("uptime_reward").kv("owner", owner).kv("workers", workers).kv("amount_mk", amount);
      });
}

}  // namespace

ledger_actor::behavior_type ledger_fn(self_ptr self, ledger_options options) {
  self->state.options = std::move(options);
  return {
      [self](quote_atom, const pb<v1::JobRequest>& request) { return on_quote(self, request.value); },
      [self](balance_atom, const std::string& api_key) { return on_balance(self, api_key); },
      [self](transfer_atom, const std::string& api_key, const std::string& to_name, int64_t amount_mk,
             const std::string& idempotency_key) {
        return on_transfer(self, api_key, to_name, amount_mk, idempotency_key);
      },
      [self](user_add_atom, const std::string& name) { return on_user_add(self, name); },
      [self](grant_atom, uint64_t user_id, int64_t amount_mk, const std::string& cause) {
        return on_grant(self, user_id, amount_mk, cause);
      },
      [self](grant_atom, const std::string& name, int64_t amount_mk, const std::string& cause) {
        return on_grant_named(self, name, amount_mk, cause);
      },
      [self](audit_atom) { return on_audit(self); },
      [self](uptime_atom, uint64_t owner, uint64_t workers, int64_t from_ms, int64_t to_ms) {
        on_uptime(self, owner, workers, from_ms, to_ms);
      },
      [self](committed_atom, uint64_t id, const caf::error& outcome) {
        self->state.writes.resume(id, outcome);
      },
  };
}

}  // namespace crowdiff
