#pragma once

// The Ledger's functional core: what each event means for the books, without CAF and without a clock.
// Each `plan_*` decides from its arguments alone whether the event is allowed and, if so, returns the
// movement to write (the effect); each `apply_*` is that movement as one atomic store operation, safe to run
// more than once (the commit queue may retry a batch). The Ledger actor only gathers the inputs, submits
// the operation and replies (actors/ledger/ledger_actor.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "common/uuid.hpp"
#include "crowdiff/v1/config.pb.h"
#include "crowdiff/v1/ledger.pb.h"
#include "crowdiff/v1/user.pb.h"
#include "persistence/kv_store.hpp"
#include "persistence/ledger_book.hpp"

namespace crowdiff::ledger {

/// The longest idempotency key a client may give a transfer.
inline constexpr size_t max_idempotency_key_bytes = 200;

/// A user as the books see them.
struct account_holder {
  uint64_t user_id = 0;
  bool anonymous = false;
};

/// A transfer that may be written: who pays whom, how much, down to which floor, under which cause.
struct planned_transfer {
  uint64_t from = 0;
  uint64_t to = 0;
  int64_t amount_mk = 0;
  int64_t floor_mk = 0;  ///< the payer's balance may not go below this
  std::string cause;     ///< "xfer:<payer>:<idempotency key>"; a replay under it returns the first entry
  std::string memo;
};

/// Whether `from` may send `amount_mk` to the user named `to_name`, whose record is `to` (nullopt: there is
/// none). Refusals, in this order: permission_denied for the anonymous account; invalid_argument for a
/// non-positive amount or an over-long key; not_found for an unknown name; permission_denied for the
/// anonymous account as the receiver; invalid_argument for oneself. Without an idempotency key the transfer
/// gets `fresh_key`, so it is never mistaken for a replay.
result<planned_transfer> plan_transfer(const account_holder& from, std::string_view to_name,
                                       const std::optional<v1::UserRecord>& to, int64_t amount_mk,
                                       std::string_view idempotency_key, const uuid& fresh_key,
                                       const v1::LedgerConfig& config);

/// Writes the transfer, or returns the entry a first transfer under the same cause wrote when it moved the
/// same amount between the same accounts (already_exists when it did not; insufficient_kudos when the payer
/// would go below the floor).
result<v1::LedgerEntry> apply_transfer(persistence::write_txn& txn, const planned_transfer& plan,
                                       int64_t now_ms);

/// An operator's grant: mints `amount_mk` for `user_id`, once per `cause` (recorded as "grant:<cause>").
/// invalid_argument for a non-positive amount or an empty cause.
result<persistence::posting> plan_grant(uint64_t user_id, int64_t amount_mk, std::string_view cause);

/// Who may be granted kudos: permission_denied for the anonymous account.
status check_grantee(const v1::UserRecord& user);

/// Writes the grant (not_found when the user does not exist).
result<v1::LedgerEntry> apply_grant(persistence::write_txn& txn, const persistence::posting& grant,
                                    int64_t now_ms);

/// Uptime pay for `workers` serving workers of `owner` from `from_ms` to `to_ms`, pro rata of
/// `uptime_kudos_per_10_min` per worker; nothing when there is nothing to pay. Who serves and how many of an
/// owner's workers count is the Scheduler's decision (scheduling::uptime_pay). The cause is per owner and
/// period end, so a repeated report pays once.
std::optional<persistence::posting> plan_uptime(uint64_t owner, uint64_t workers, int64_t from_ms,
                                                int64_t to_ms, const v1::LedgerConfig& config);

/// Writes the uptime pay unless its cause was paid before.
status apply_uptime(persistence::write_txn& txn, const persistence::posting& pay, int64_t now_ms);

/// The floor a requester's or payer's balance may reach (negative: credit the network extends).
int64_t floor_mk(bool anonymous, const v1::LedgerConfig& config);

}  // namespace crowdiff::ledger
