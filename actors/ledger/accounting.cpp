#include "actors/ledger/accounting.hpp"

#include "actors/ledger/pricing.hpp"
#include "persistence/user_table.hpp"

namespace crowdiff::ledger {

using persistence::ledger_book;

int64_t floor_mk(bool anonymous, const v1::LedgerConfig& config) {
  return to_mk(anonymous ? config.anonymous_floor() : config.registered_floor());
}

result<planned_transfer> plan_transfer(const account_holder& from, std::string_view to_name,
                                       const std::optional<v1::UserRecord>& to, int64_t amount_mk,
                                       std::string_view idempotency_key, const uuid& fresh_key,
                                       const v1::LedgerConfig& config) {
  if (from.anonymous)
    return status{errc::permission_denied, "the anonymous account cannot transfer kudos"};
  if (amount_mk <= 0)
    return status{errc::invalid_argument, "a transfer moves a positive amount"};
  if (idempotency_key.size() > max_idempotency_key_bytes)
    return status{errc::invalid_argument, "idempotency key too long"};
  if (!to)
    return status{errc::not_found, "no user named '" + std::string(to_name) + "'"};
  if (to->anonymous())
    return status{errc::permission_denied, "cannot transfer to the anonymous account"};
  if (to->id() == from.user_id)
    return status{errc::invalid_argument, "cannot transfer to oneself"};
  planned_transfer plan;
  plan.from = from.user_id;
  plan.to = to->id();
  plan.amount_mk = amount_mk;
  plan.floor_mk = floor_mk(false, config);
  plan.cause = "xfer:" + std::to_string(from.user_id) + ":" +
               (idempotency_key.empty() ? fresh_key.to_string() : std::string(idempotency_key));
  plan.memo = "transfer to " + to->name();
  return plan;
}

result<v1::LedgerEntry> apply_transfer(persistence::write_txn& txn, const planned_transfer& plan,
                                       int64_t now_ms) {
  auto first = ledger_book::entry_by_cause(txn, plan.cause);
  if (!first)
    return first.error();
  if (!first->has_value())
    return ledger_book::transfer(txn, plan.from, plan.to, plan.amount_mk, plan.floor_mk, plan.cause,
                                 plan.memo, now_ms);
  const auto& earlier = **first;
  if (earlier.debit_account() == plan.from && earlier.credit_account() == plan.to &&
      earlier.amount_mk() == plan.amount_mk)
    return earlier;
  return status{errc::already_exists, "idempotency key already used for a different transfer"};
}

result<persistence::posting> plan_grant(uint64_t user_id, int64_t amount_mk, std::string_view cause) {
  if (amount_mk <= 0)
    return status{errc::invalid_argument, "a grant is positive"};
  if (cause.empty())
    return status{errc::invalid_argument, "a grant needs a cause"};
  return persistence::posting{persistence::mint_account,     user_id, amount_mk, v1::GRANT,
                              "grant:" + std::string(cause), {},      0};
}

status check_grantee(const v1::UserRecord& user) {
  if (user.anonymous())
    return status{errc::permission_denied, "the anonymous account is not granted kudos"};
  return status::ok();
}

result<v1::LedgerEntry> apply_grant(persistence::write_txn& txn, const persistence::posting& grant,
                                    int64_t now_ms) {
  auto user = persistence::user_table::get(txn, grant.credit);
  if (!user)
    return user.error();
  if (!user->has_value())
    return status{errc::not_found, "no user " + std::to_string(grant.credit)};
  return ledger_book::post(txn, grant, now_ms);
}

std::optional<persistence::posting> plan_uptime(uint64_t owner, uint64_t workers, int64_t from_ms,
                                                int64_t to_ms, const v1::LedgerConfig& config) {
  if (to_ms <= from_ms || owner == 0 || workers == 0)
    return std::nullopt;
  double kudos = config.uptime_kudos_per_10_min() * static_cast<double>(workers) *
                 static_cast<double>(to_ms - from_ms) / 600'000.0;
  int64_t amount = to_mk(kudos);
  if (amount <= 0)
    return std::nullopt;
  return persistence::posting{persistence::mint_account,
                              owner,
                              amount,
                              v1::UPTIME_REWARD,
                              "uptime:" + std::to_string(owner) + ":" + std::to_string(to_ms),
                              std::to_string(workers) + " serving workers",
                              0};
}

status apply_uptime(persistence::write_txn& txn, const persistence::posting& pay, int64_t now_ms) {
  auto seen = ledger_book::has_cause(txn, pay.cause);
  if (!seen)
    return seen.error();
  if (*seen)
    return status::ok();
  return ledger_book::post(txn, pay, now_ms).to_status();
}

}  // namespace crowdiff::ledger
