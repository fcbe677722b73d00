#include "actors/ledger/ledger_actor.hpp"

#include <memory>

#include <caf/all.hpp>

#include "actors/detail/authenticate.hpp"
#include "actors/ledger/ledger_state.hpp"
#include "actors/ledger/pricing.hpp"
#include "common/api_key.hpp"
#include "common/log.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/user_table.hpp"
#include "protocol/errors.hpp"

namespace crowdiff {
namespace {

using persistence::ledger_book;

// A transfer replayed with the same idempotency key and the same parameters returns the first entry.
result<v1::LedgerEntry> replay_or_conflict(persistence::read_txn& txn, const std::string& cause,
                                           uint64_t from, uint64_t to, int64_t amount) {
  auto first = ledger_book::entry_by_cause(txn, cause);
  if (!first)
    return first.error();
  if (first->has_value() && (*first)->debit_account() == from && (*first)->credit_account() == to &&
      (*first)->amount_mk() == amount)
    return **first;
  return status{errc::already_exists, "idempotency key already used for a different transfer"};
}

// Mints `amount_mk` for a user (an operator's grant), recorded under "grant:<cause>" (once per cause).
caf::result<pb<v1::LedgerEntry>> grant_to(ledger_actor::stateful_pointer<ledger_state> self,
                                          const ledger_actor& me, uint64_t user_id, int64_t amount_mk,
                                          const std::string& cause) {
  auto& s = self->state;
  if (amount_mk <= 0)
    return make_error(errc::invalid_argument, "a grant is positive");
  if (cause.empty())
    return make_error(errc::invalid_argument, "a grant needs a cause");
  auto entry = std::make_shared<v1::LedgerEntry>();
  auto rp = self->make_response_promise<pb<v1::LedgerEntry>>();
  int64_t now = s.options.now();
  s.writes.submit(
      *s.options.store, me,
      [=](persistence::write_txn& txn) -> status {
        auto user = persistence::user_table::get(txn, user_id);
        if (!user)
          return user.error();
        if (!user->has_value())
          return status{errc::not_found, "no user " + std::to_string(user_id)};
        auto r = ledger_book::post(
            txn,
            persistence::posting{
                persistence::mint_account, user_id, amount_mk, v1::GRANT, "grant:" + cause, {}, 0},
            now);
        if (!r)
          return r.error();
        *entry = *r;
        return status::ok();
      },
      [rp, entry](const status& outcome) mutable {
        if (!outcome) {
          rp.deliver(to_error(outcome));
          return;
        }
        log::info("kudos_grant").kv("user", entry->credit_account()).kv("amount_mk", entry->amount_mk());
        rp.deliver(pb<v1::LedgerEntry>{*entry});
      });
  return rp;
}

}  // namespace

ledger_actor::behavior_type ledger_fn(ledger_actor::stateful_pointer<ledger_state> self,
                                      ledger_options options) {
  self->state.options = std::move(options);
  auto floor_of = [self](bool anonymous) {
    const auto& c = self->state.options.config;
    return ledger::to_mk(anonymous ? c.anonymous_floor() : c.registered_floor());
  };
  auto me = caf::actor_cast<ledger_actor>(self);

  return {
      [self](quote_atom, const pb<v1::JobRequest>& request) -> caf::result<pb<v1::KudosQuote>> {
        auto q = ledger::quote(request.value, self->state.options.config);
        if (!q)
          return to_error(q.error());
        return pb<v1::KudosQuote>{std::move(*q)};
      },
      [self](balance_atom, const std::string& api_key) -> caf::result<pb<v1::Balance>> {
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
      },
      [self, me, floor_of](transfer_atom, const std::string& api_key, const std::string& to_name,
                           int64_t amount_mk,
                           const std::string& idempotency_key) -> caf::result<pb<v1::LedgerEntry>> {
        auto& s = self->state;
        auto who = detail::authenticate(*s.options.store, api_key);
        if (!who)
          return to_error(who.error());
        if (who->anonymous)
          return make_error(errc::permission_denied, "the anonymous account cannot transfer kudos");
        if (amount_mk <= 0)
          return make_error(errc::invalid_argument, "a transfer moves a positive amount");
        if (idempotency_key.size() > 200)
          return make_error(errc::invalid_argument, "idempotency key too long");
        uint64_t target = 0;
        {
          auto txn = s.options.store->read();
          if (!txn)
            return to_error(txn.error());
          auto user = persistence::user_table::find_by_name(**txn, to_name);
          if (!user)
            return to_error(user.error());
          if (!user->has_value())
            return make_error(errc::not_found, "no user named '" + to_name + "'");
          if ((*user)->anonymous())
            return make_error(errc::permission_denied, "cannot transfer to the anonymous account");
          target = (*user)->id();
        }
        if (target == who->user_id)
          return make_error(errc::invalid_argument, "cannot transfer to oneself");
        std::string cause = "xfer:" + std::to_string(who->user_id) + ":" +
                            (idempotency_key.empty() ? uuid::random().to_string() : idempotency_key);
        auto entry = std::make_shared<v1::LedgerEntry>();
        auto rp = self->make_response_promise<pb<v1::LedgerEntry>>();
        uint64_t from = who->user_id;
        int64_t floor = floor_of(false);
        int64_t now = s.options.now();
        std::string memo = "transfer to " + to_name;
        s.writes.submit(
            *s.options.store, me,
            [=](persistence::write_txn& txn) -> status {
              auto seen = ledger_book::has_cause(txn, cause);
              if (!seen)
                return seen.error();
              auto r = *seen ? replay_or_conflict(txn, cause, from, target, amount_mk)
                             : ledger_book::transfer(txn, from, target, amount_mk, floor, cause, memo, now);
              if (!r)
                return r.error();
              *entry = *r;
              return status::ok();
            },
            [rp, entry](const status& outcome) mutable {
              if (!outcome) {
                rp.deliver(to_error(outcome));
                return;
              }
              log::info("kudos_transfer")
                  .kv("from", entry->debit_account())
                  .kv("to", entry->credit_account())
                  .kv("amount_mk", entry->amount_mk())
                  .kv("sequence", entry->sequence());
              rp.deliver(pb<v1::LedgerEntry>{*entry});
            });
        return rp;
      },
      [self, me](user_add_atom, const std::string& name) -> caf::result<pb<v1::UserRecord>, std::string> {
        auto& s = self->state;
        if (auto v = persistence::user_table::validate_name(name); !v)
          return to_error(v);
        auto key = generate_api_key();
        auto user = std::make_shared<v1::UserRecord>();
        auto rp = self->make_response_promise<pb<v1::UserRecord>, std::string>();
        int64_t now = s.options.now();
        auto hash = hash_api_key(key);
        s.writes.submit(
            *s.options.store, me,
            [=](persistence::write_txn& txn) -> status {
              auto r = persistence::user_table::create(txn, name, hash, now);
              if (!r)
                return r.error();
              *user = *r;
              return status::ok();
            },
            [rp, user, key](const status& outcome) mutable {
              if (!outcome) {
                rp.deliver(to_error(outcome));
                return;
              }
              log::info("user_created").kv("user", user->id()).kv("name", user->name());
              rp.deliver(pb<v1::UserRecord>{*user}, key);
            });
        return rp;
      },
      [self, me](grant_atom, uint64_t user_id, int64_t amount_mk, const std::string& cause)
          -> caf::result<pb<v1::LedgerEntry>> { return grant_to(self, me, user_id, amount_mk, cause); },
      [self, me](grant_atom, const std::string& name, int64_t amount_mk,
                 const std::string& cause) -> caf::result<pb<v1::LedgerEntry>> {
        auto txn = self->state.options.store->read();
        if (!txn)
          return to_error(txn.error());
        auto user = persistence::user_table::find_by_name(**txn, name);
        if (!user)
          return to_error(user.error());
        if (!user->has_value())
          return make_error(errc::not_found, "no user named '" + name + "'");
        if ((*user)->anonymous())
          return make_error(errc::permission_denied, "the anonymous account is not granted kudos");
        uint64_t id = (*user)->id();
        txn = status{errc::cancelled, "released"};
        return grant_to(self, me, id, amount_mk, cause);
      },
      [self](audit_atom) -> caf::result<pb<v1::LedgerAudit>> {
        auto txn = self->state.options.store->read();
        if (!txn)
          return to_error(txn.error());
        auto a = ledger_book::audit(**txn);
        if (!a)
          return to_error(a.error());
        return pb<v1::LedgerAudit>{std::move(*a)};
      },
      [self, me](uptime_atom, uint64_t owner, uint64_t workers, int64_t from_ms, int64_t to_ms) {
        auto& s = self->state;
        if (to_ms <= from_ms || owner == 0 || workers == 0)
          return;
        // Pro rata: every second a serving worker is online earns its share of the 10-minute reward. Who
        // serves, and how many of an owner's workers count, the Scheduler decides (scheduling::uptime_pay).
        double kudos = s.options.config.uptime_kudos_per_10_min() * static_cast<double>(workers) *
                       static_cast<double>(to_ms - from_ms) / 600'000.0;
        int64_t amount = ledger::to_mk(kudos);
        if (amount <= 0)
          return;
        std::string cause = "uptime:" + std::to_string(owner) + ":" + std::to_string(to_ms);
        int64_t now = s.options.now();
        s.writes.submit(
            *s.options.store, me,
            [=](persistence::write_txn& txn) -> status {
              auto seen = ledger_book::has_cause(txn, cause);
              if (!seen)
                return seen.error();
              if (*seen)
                return status::ok();
              return ledger_book::post(
                         txn,
                         persistence::posting{persistence::mint_account, owner, amount, v1::UPTIME_REWARD,
                                              cause, std::to_string(workers) + " serving workers", 0},
                         now)
                  .to_status();
            },
            [workers, owner, amount](const status& outcome) {
              if (!outcome) {
                log::error("uptime_reward_failed").kv("owner", owner).kv("error", outcome.to_string());
                return;
              }
              log::debug("uptime_reward").kv("owner", owner).kv("workers", workers).kv("amount_mk", amount);
            });
      },
      [self](committed_atom, uint64_t id, const caf::error& outcome) {
        self->state.writes.resume(id, outcome);
      },
  };
}

}  // namespace crowdiff
