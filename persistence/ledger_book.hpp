#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "crowdiff/v1/ledger.pb.h"
#include "persistence/bad_record.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// System accounts of the double-entry books. MINT's balance is minus everything ever minted and BURN's is
/// everything ever burned, so all balances together always sum to zero and the users' balances sum to
/// minted - burned. On-disk values: never change.
inline constexpr uint64_t mint_account = std::numeric_limits<uint64_t>::max();
inline constexpr uint64_t burn_account = std::numeric_limits<uint64_t>::max() - 1;

/// One movement to record.
struct posting {
  uint64_t debit = 0;   ///< pays
  uint64_t credit = 0;  ///< receives
  int64_t amount_mk = 0;
  v1::EntryKind kind = v1::ENTRY_KIND_UNSPECIFIED;
  std::string cause;  ///< unique idempotency key, at most 400 bytes
  std::string memo;
  int64_t forgiven_mk = 0;
};

/// The outcome of settling one delivered image.
struct settlement {
  int64_t charged_mk = 0;   ///< taken from the requester
  int64_t forgiven_mk = 0;  ///< the part of the price the requester's floor forgave
  int64_t credited_mk = 0;  ///< given to the worker's owner
  bool already_settled = false;
};

/// The kudos journal (`journal`, `journal_by_cause`) and balances (`balances`). Every function validates
/// everything before its first write, and runs inside the caller's transaction, so a movement commits
/// together with whatever else that transaction changes (a job's state) or not at all.
class ledger_book {
 public:
  /// The account's balance; a zero balance when it never moved.
  static result<v1::Balance> balance(read_txn& txn, uint64_t account);

  /// Whether an entry with this cause exists.
  static result<bool> has_cause(read_txn& txn, std::string_view cause);

  /// The entry recorded under `cause`, or nullopt.
  static result<std::optional<v1::LedgerEntry>> entry_by_cause(read_txn& txn, std::string_view cause);

  /// Records one movement. Errors (nothing written): invalid_argument (negative amount, same account on
  /// both sides, empty or over-long cause), already_exists (the cause was recorded before).
  static result<v1::LedgerEntry> post(write_txn& txn, const posting& p, int64_t now_ms);

  /// Moves `amount_mk` from `from` to `to`. insufficient_kudos when `from` would end below `floor_mk`.
  static result<v1::LedgerEntry> transfer(write_txn& txn, uint64_t from, uint64_t to, int64_t amount_mk,
                                          int64_t floor_mk, std::string cause, std::string memo,
                                          int64_t now_ms);

  /// Settles one delivered image: the requester pays `price_mk` into BURN (but never below `floor_mk`:
  /// the rest is forgiven and recorded as such) and MINT credits the worker's owner `value_mk`, as one unit
  /// under `cause`. A cause settled before changes nothing and reports `already_settled`; a settlement that
  /// moves nothing (one's own job) records nothing, so the job's record is what says the image was settled.
  ///
  /// Kudos are minted only for work done for someone else, and never for a requester who chose the worker
  /// but could not pay (else one person could mint without end by serving their own or anonymous jobs):
  /// - the worker's owner is the requester: nothing is charged and nothing credited;
  /// - the requester pinned this worker (`chose_worker`): the owner is credited at most what was charged.
  static result<settlement> settle_image(write_txn& txn, uint64_t requester, int64_t price_mk,
                                         int64_t floor_mk, uint64_t owner, int64_t value_mk,
                                         bool chose_worker, std::string_view cause, int64_t now_ms);

  /// Opens a user's account at zero (when the user is created), so that the index by amount holds every
  /// user. Nothing changes for an account that exists.
  static status open_account(write_txn& txn, uint64_t account);

  /// Users' accounts by balance, highest first (ties by account id): `count` of them from rank `first`
  /// (0-based), as (account, balance_mk). An index read of first + count entries, never a scan of all.
  static result<std::vector<std::pair<uint64_t, int64_t>>> richest(read_txn& txn, uint64_t first,
                                                                   uint64_t count);

  /// Opens every user's account and writes the index by amount of every balance (the migration to schema 2).
  static status index_balances(write_txn& txn);

  /// Sums the books: minted, burned, the users' balances and the number of entries. Strict: a balance that
  /// does not decode is an error (corruption), never skipped, since a sum without it would be wrong.
  static result<v1::LedgerAudit> audit(read_txn& txn);

  /// Visits journal entries from sequence `from` upwards until `fn` returns false; undecodable entries go to
  /// `on_bad`.
  static status scan_journal(read_txn& txn, uint64_t from, const std::function<bool(v1::LedgerEntry&)>& fn,
                             const bad_record_fn& on_bad = {});
};

}  // namespace crowdiff::persistence
