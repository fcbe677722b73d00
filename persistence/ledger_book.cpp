#include "persistence/ledger_book.hpp"

#include <algorithm>

#include "crowdiff/v1/user.pb.h"
#include "persistence/detail/key_codec.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/record_codec.hpp"

namespace crowdiff::persistence {
namespace {

constexpr size_t max_cause_bytes = 400;

status validate_cause(std::string_view cause) {
  if (cause.empty())
    return status{errc::invalid_argument, "a ledger entry needs a cause"};
  if (cause.size() > max_cause_bytes)
    return status{errc::invalid_argument, "ledger cause too long"};
  return status::ok();
}

bool is_system(uint64_t account) {
  return account == mint_account || account == burn_account;
}

// `balances_by_amount` key: the balance mapped so that byte order is descending balance, then the account.
std::string amount_key(int64_t balance_mk, uint64_t account) {
  std::string key;
  detail::append_u64(key, ~(static_cast<uint64_t>(balance_mk) ^ 0x8000000000000000ULL));
  detail::append_u64(key, account);
  return key;
}

int64_t amount_of(std::string_view key) {
  return static_cast<int64_t>(~detail::read_u64(key) ^ 0x8000000000000000ULL);
}

// Every balance write keeps the users' index by amount (the leaderboard) in step; the system accounts are
// not in it.
status write_balance(write_txn& txn, const v1::Balance& b) {
  if (!is_system(b.account())) {
    v1::Balance old;
    auto found = read_record(txn, table::balances, detail::u64_key(b.account()), old);
    if (!found)
      return found.error();
    if (*found)
      CROWDIFF_RETURN_IF_ERROR(
          txn.erase(table::balances_by_amount, amount_key(old.balance_mk(), b.account())));
    CROWDIFF_RETURN_IF_ERROR(txn.put(table::balances_by_amount, amount_key(b.balance_mk(), b.account()), {}));
  }
  return write_record(txn, table::balances, detail::u64_key(b.account()), b);
}

}  // namespace

result<v1::Balance> ledger_book::balance(read_txn& txn, uint64_t account) {
  v1::Balance b;
  auto found = read_record(txn, table::balances, detail::u64_key(account), b);
  if (!found)
    return found.error();
  if (!*found)
    b.set_account(account);
  return b;
}

result<bool> ledger_book::has_cause(read_txn& txn, std::string_view cause) {
  if (cause.empty() || cause.size() > max_cause_bytes)
    return false;
  auto v = txn.get(table::journal_by_cause, cause);
  if (!v)
    return v.error();
  return v->has_value();
}

result<std::optional<v1::LedgerEntry>> ledger_book::entry_by_cause(read_txn& txn, std::string_view cause) {
  if (cause.empty() || cause.size() > max_cause_bytes)
    return std::optional<v1::LedgerEntry>{};
  auto seq = txn.get(table::journal_by_cause, cause);
  if (!seq)
    return seq.error();
  if (!seq->has_value())
    return std::optional<v1::LedgerEntry>{};
  v1::LedgerEntry e;
  auto found = read_record(txn, table::journal, **seq, e);
  if (!found)
    return found.error();
  if (!*found)
    return status{errc::corruption, "journal_by_cause points at a missing entry"};
  return std::optional<v1::LedgerEntry>{std::move(e)};
}

result<v1::LedgerEntry> ledger_book::post(write_txn& txn, const posting& p, int64_t now_ms) {
  if (p.amount_mk < 0 || p.forgiven_mk < 0)
    return status{errc::invalid_argument, "ledger amounts are not negative"};
  if (p.amount_mk == 0 && p.forgiven_mk == 0)
    return status{errc::invalid_argument, "a ledger entry moves something"};
  if (p.debit == p.credit)
    return status{errc::invalid_argument, "an account cannot pay itself"};
  CROWDIFF_RETURN_IF_ERROR(validate_cause(p.cause));
  auto seen = has_cause(txn, p.cause);
  if (!seen)
    return seen.error();
  if (*seen)
    return status{errc::already_exists, "ledger cause '" + p.cause + "' was recorded before"};
  auto from = balance(txn, p.debit);
  if (!from)
    return from.error();
  auto to = balance(txn, p.credit);
  if (!to)
    return to.error();

  auto seq = next_counter(txn, meta_keys::next_ledger_sequence);
  if (!seq)
    return seq.error();
  v1::LedgerEntry entry;
  entry.set_sequence(*seq);
  entry.set_time_ms(now_ms);
  entry.set_debit_account(p.debit);
  entry.set_credit_account(p.credit);
  entry.set_amount_mk(p.amount_mk);
  entry.set_kind(p.kind);
  entry.set_cause(p.cause);
  entry.set_memo(p.memo);
  entry.set_forgiven_mk(p.forgiven_mk);
  auto seq_key = detail::u64_key(*seq);
  CROWDIFF_RETURN_IF_ERROR(write_record(txn, table::journal, seq_key, entry));
  CROWDIFF_RETURN_IF_ERROR(txn.put(table::journal_by_cause, p.cause, seq_key));
  if (p.amount_mk > 0) {
    from->set_balance_mk(from->balance_mk() - p.amount_mk);
    from->set_spent_mk(from->spent_mk() + p.amount_mk);
    to->set_balance_mk(to->balance_mk() + p.amount_mk);
    to->set_earned_mk(to->earned_mk() + p.amount_mk);
    CROWDIFF_RETURN_IF_ERROR(write_balance(txn, *from));
    CROWDIFF_RETURN_IF_ERROR(write_balance(txn, *to));
  }
  return entry;
}

result<v1::LedgerEntry> ledger_book::transfer(write_txn& txn, uint64_t from, uint64_t to, int64_t amount_mk,
                                              int64_t floor_mk, std::string cause, std::string memo,
                                              int64_t now_ms) {
  if (amount_mk <= 0)
    return status{errc::invalid_argument, "a transfer moves a positive amount"};
  if (from == to)
    return status{errc::invalid_argument, "cannot transfer to oneself"};
  auto payer = balance(txn, from);
  if (!payer)
    return payer.error();
  if (payer->balance_mk() - amount_mk < floor_mk)
    return status{errc::insufficient_kudos, "balance " + std::to_string(payer->balance_mk()) +
                                                " mk cannot cover " + std::to_string(amount_mk) +
                                                " mk above the floor of " + std::to_string(floor_mk) + " mk"};
  return post(txn, posting{from, to, amount_mk, v1::TRANSFER, std::move(cause), std::move(memo), 0}, now_ms);
}

result<settlement> ledger_book::settle_image(write_txn& txn, uint64_t requester, int64_t price_mk,
                                             int64_t floor_mk, uint64_t owner, int64_t value_mk,
                                             bool chose_worker, std::string_view cause, int64_t now_ms) {
  if (price_mk < 0 || value_mk < 0)
    return status{errc::invalid_argument, "prices are not negative"};
  CROWDIFF_RETURN_IF_ERROR(validate_cause(cause));
  std::string charge_cause = std::string(cause) + ":charge";
  std::string credit_cause = std::string(cause) + ":credit";
  auto charged_before = has_cause(txn, charge_cause);
  if (!charged_before)
    return charged_before.error();
  auto credited_before = has_cause(txn, credit_cause);
  if (!credited_before)
    return credited_before.error();
  if (*charged_before || *credited_before) {
    // Both halves are written in one transaction, so seeing one means both happened.
    settlement done;
    done.already_settled = true;
    return done;
  }
  if (owner != 0 && owner == requester) {
    price_mk = 0;  // one's own work for oneself: neither earns nor costs kudos
    value_mk = 0;
  }
  auto payer = balance(txn, requester);
  if (!payer)
    return payer.error();
  settlement out;
  int64_t room = payer->balance_mk() - floor_mk;
  out.charged_mk = std::max<int64_t>(0, std::min(price_mk, room));
  out.forgiven_mk = price_mk - out.charged_mk;
  if (chose_worker)
    value_mk = std::min(value_mk, out.charged_mk);  // a pinned worker earns only what was paid
  out.credited_mk = value_mk;
  if (out.charged_mk > 0 || out.forgiven_mk > 0) {
    auto e = post(
        txn,
        posting{requester, burn_account, out.charged_mk, v1::JOB_CHARGE, charge_cause, {}, out.forgiven_mk},
        now_ms);
    if (!e)
      return e.error();
  }
  if (value_mk > 0 && owner != 0) {
    auto e = post(txn, posting{mint_account, owner, value_mk, v1::JOB_CREDIT, credit_cause, {}, 0}, now_ms);
    if (!e)
      return e.error();
  } else {
    out.credited_mk = 0;
  }
  return out;
}

result<v1::LedgerAudit> ledger_book::audit(read_txn& txn) {
  v1::LedgerAudit audit;
  v1::Balance b;
  auto add = [&](std::string_view) {
    if (b.account() == mint_account)
      audit.set_minted_mk(-b.balance_mk());
    else if (b.account() == burn_account)
      audit.set_burned_mk(b.balance_mk());
    else
      audit.set_sum_of_balances_mk(audit.sum_of_balances_mk() + b.balance_mk());
    return true;
  };
  // Strict (no on_bad): a sum that leaves a balance out would be wrong.
  auto s = scan_records(txn, table::balances, {}, b, add, {});
  if (!s)
    return s;
  auto entries = read_counter(txn, meta_keys::next_ledger_sequence);
  if (!entries)
    return entries.error();
  audit.set_entries(*entries);
  return audit;
}

status ledger_book::open_account(write_txn& txn, uint64_t account) {
  v1::Balance b;
  auto found = read_record(txn, table::balances, detail::u64_key(account), b);
  if (!found)
    return found.error();
  if (*found)
    return status::ok();
  b.set_account(account);
  return write_balance(txn, b);
}

result<std::vector<std::pair<uint64_t, int64_t>>> ledger_book::richest(read_txn& txn, uint64_t first,
                                                                       uint64_t count) {
  std::vector<std::pair<uint64_t, int64_t>> out;
  uint64_t rank = 0;
  status bad;
  auto s = txn.scan(table::balances_by_amount, {}, [&](std::string_view key, std::string_view) {
    if (key.size() != 16) {
      bad = status{errc::corruption, "bad balance index entry"};
      return false;
    }
    if (rank++ >= first)
      out.emplace_back(detail::read_u64(key, 8), amount_of(key));
    return out.size() < count;
  });
  if (!s)
    return s;
  if (!bad)
    return bad;
  return out;
}

status ledger_book::index_balances(write_txn& txn) {
  std::vector<uint64_t> users;
  v1::UserRecord u;
  CROWDIFF_RETURN_IF_ERROR(scan_records(
      txn, table::users, {}, u,
      [&](std::string_view) {
        users.push_back(u.id());
        return true;
      },
      [](const bad_record&) {}));
  std::vector<v1::Balance> balances;
  v1::Balance b;
  CROWDIFF_RETURN_IF_ERROR(scan_records(txn, table::balances, {}, b,
                                        [&](std::string_view) {
                                          balances.push_back(b);
                                          return true;
                                        },
                                        {}));
  for (const auto& one : balances)
    if (!is_system(one.account()))
      CROWDIFF_RETURN_IF_ERROR(
          txn.put(table::balances_by_amount, amount_key(one.balance_mk(), one.account()), {}));
  for (auto id : users)
    CROWDIFF_RETURN_IF_ERROR(open_account(txn, id));
  return status::ok();
}

status ledger_book::scan_journal(read_txn& txn, uint64_t from,
                                 const std::function<bool(v1::LedgerEntry&)>& fn,
                                 const bad_record_fn& on_bad) {
  v1::LedgerEntry e;
  return scan_records(
      txn, table::journal, detail::u64_key(from), e, [&](std::string_view) { return fn(e); }, on_bad);
}

}  // namespace crowdiff::persistence
