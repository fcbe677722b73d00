// Status, models, performance, statistics, users (one, or a page sorted by kudos or age), kudos transfers,
// the test-user endpoint and Swagger.
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <caf/all.hpp>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/version.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/horde_requests.hpp"
#include "gateway/swagger.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/user_table.hpp"
#include "persistence/worker_table.hpp"

namespace crowdiff::gateway {
namespace {

// What a user's workers have done, summed from the workers table.
struct worker_totals {
  json ids = json::array();
  double megapixel_steps = 0;
  uint64_t images = 0;
};

// One owner's worker totals, read through the (owner, name) index: never a scan of every worker.
worker_totals totals_of(persistence::read_txn& txn, uint64_t owner) {
  worker_totals t;
  auto ids = persistence::worker_table::ids_of_owner(txn, owner);
  if (!ids)
    return t;
  for (auto id : *ids) {
    auto w = persistence::worker_table::get(txn, id);
    if (!w || !w->has_value())
      continue;
    t.ids.push_back(std::to_string(id));
    t.megapixel_steps += (*w)->megapixel_steps_done();
    t.images += (*w)->images_done();
  }
  return t;
}

// An AI Horde UserDetails object.
json user_json(const v1::UserRecord& u, const v1::Balance& b, const worker_totals& w) {
  json out;
  out["username"] = u.name() + "#" + std::to_string(u.id());
  out["id"] = u.id();
  out["kudos"] = static_cast<double>(b.balance_mk()) / 1000.0;
  out["kudos_details"] = {{"accumulated", static_cast<double>(b.earned_mk()) / 1000.0},
                          {"gifted", 0},
                          {"donated", 0},
                          {"admin", 0},
                          {"received", 0},
                          {"recurring", 0},
                          {"awarded", 0}};
  out["records"] = {{"usage", {{"megapixelsteps", 0}, {"tokens", 0}}},
                    {"contribution", {{"megapixelsteps", w.megapixel_steps}, {"tokens", 0}}},
                    {"fulfillment", {{"image", w.images}, {"text", 0}, {"interrogation", 0}}},
                    {"request", {{"image", 0}, {"text", 0}, {"interrogation", 0}}}};
  out["kudos_spent"] = static_cast<double>(b.spent_mk()) / 1000.0;
  out["concurrency"] = u.max_concurrent_jobs() != 0 ? u.max_concurrent_jobs() : 30;
  out["worker_invited"] = 0;
  out["moderator"] = u.admin();
  out["trusted"] = false;
  out["flagged"] = false;
  out["pseudonymous"] = false;
  out["service"] = false;
  out["deleted"] = false;
  out["worker_count"] = w.ids.size();
  out["worker_ids"] = w.ids;
  out["account_age"] = std::max<int64_t>(0, (wall_ms() - u.created_ms()) / 1000);
  return out;
}

// One user's details; a store that cannot be read shows a zero balance and no workers.
json user_json(gateway_context& ctx, const v1::UserRecord& u) {
  v1::Balance balance;
  worker_totals workers;
  if (auto txn = ctx.store->read(); txn) {
    if (auto b = persistence::ledger_book::balance(**txn, u.id()); b)
      balance = *b;
    workers = totals_of(**txn, u.id());
  }
  return user_json(u, balance, workers);
}

inline constexpr size_t users_per_page = 25;  // as AI Horde

// GET /v2/users?sort=kudos|age&page=N: every user, richest (or oldest) first, 25 a page; a page past the end
// is an empty list.
void list_users(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  field_errors errors;
  std::string sort = req.query.count("sort") != 0 ? req.query["sort"] : "kudos";
  if (sort != "kudos" && sort != "age")
    errors["sort"] = "must be kudos or age";
  uint64_t page = 1;
  if (auto it = req.query.find("page"); it != req.query.end()) {
    const auto& text = it->second;
    bool digits =
        !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
    page = digits ? std::stoull(text) : 0;
    if (page == 0)
      errors["page"] = "must be a whole number from 1 to 999999999";
  }
  if (!errors.empty()) {
    reply_error(r, 400, "Input payload validation failed", "ValidationError", errors);
    return;
  }
  auto txn = ctx.store->read();
  if (!txn) {
    reply_status_error(r, txn.error());
    return;
  }
  // A page costs what precedes it in an index (balances by amount, or users by id), never a read of
  // every record: the users on the page are read, with their workers through the owner index.
  const uint64_t first = (page - 1) * users_per_page;
  std::vector<uint64_t> ids;
  if (sort == "kudos") {
    auto richest = persistence::ledger_book::richest(**txn, first, users_per_page);
    if (!richest) {
      reply_status_error(r, richest.error());
      return;
    }
    for (const auto& [account, balance] : *richest)
      ids.push_back(account);
  } else {
    auto oldest = persistence::user_table::oldest(**txn, first, users_per_page);
    if (!oldest) {
      reply_status_error(r, oldest.error());
      return;
    }
    ids = std::move(*oldest);
  }
  json out = json::array();
  for (auto id : ids) {
    auto u = persistence::user_table::get(**txn, id);
    if (!u || !u->has_value()) {
      log::error("record_skipped").kv("scan", "users_list").kv("table", "users").kv("user", id);
      continue;
    }
    auto b = persistence::ledger_book::balance(**txn, id);
    out.push_back(user_json(**u, b ? *b : v1::Balance{}, totals_of(**txn, id)));
  }
  reply_json(r, 200, out);
}

// "alias#id", or a bare id or name, to a user.
std::optional<v1::UserRecord> find_user(gateway_context& ctx, const std::string& text) {
  auto txn = ctx.store->read();
  if (!txn)
    return std::nullopt;
  std::string id_part = text;
  if (auto hash = text.rfind('#'); hash != std::string::npos)
    id_part = text.substr(hash + 1);
  char* end = nullptr;
  uint64_t id = std::strtoull(id_part.c_str(), &end, 10);
  if (!id_part.empty() && *end == '\0') {
    if (auto u = persistence::user_table::get(**txn, id); u && u->has_value())
      return **u;
    return std::nullopt;
  }
  if (auto u = persistence::user_table::find_by_name(**txn, text); u && u->has_value())
    return **u;
  return std::nullopt;
}

void transfer(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  auto who = authenticate_or_reply(ctx, req, r, true);
  if (!who)
    return;
  if (who->anonymous) {
    reply_error(r, 400, "the anonymous account cannot transfer kudos", "KudosTransferFromAnon");
    return;
  }
  json body;
  if (!parse_body(ctx, req, r, body))
    return;
  transfer_input in;
  field_errors errors;
  if (!parse_transfer(body, in, errors)) {
    reply_error(r, 400, "Input payload validation failed", "ValidationError", errors);
    return;
  }
  int64_t amount = in.amount_mk;
  auto target = find_user(ctx, in.username);
  if (!target) {
    reply_error(r, 404, "no such user", "UserNotFound");
    return;
  }
  if (target->anonymous()) {
    reply_error(r, 400, "kudos cannot go to the anonymous account", "KudosTransferToAnon");
    return;
  }
  if (target->id() == who->user_id) {
    reply_error(r, 400, "cannot transfer kudos to yourself", "KudosTransferToSelf");
    return;
  }
  ask(
      ctx, ctx.core.ledger, ask_timeout,
      [r](pb<v1::LedgerEntry>& e) {
        reply_json(r, 200, json{{"transferred", static_cast<double>(e.value.amount_mk()) / 1000.0}});
      },
      [r](const status& s) {
        if (s.code() == errc::insufficient_kudos)
          reply_error(r, 400, s.message(), "KudosTransferNotEnough");
        else
          reply_status_error(r, s, "UserNotFound");
      },
      transfer_atom::value, api_key_of(req), target->name(), amount, req.header("idempotency-key"));
}

void test_user(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  if (!ctx.config.test_user_endpoint() || !req.loopback) {
    reply_error(r, 404, "not found", "NotFound");
    return;
  }
  std::string name = "test_" + uuid::random().to_string().substr(0, 8);
  ask(
      ctx, ctx.core.ledger, ask_timeout,
      [&ctx, r](pb<v1::UserRecord>& user, std::string& key) {
        uint64_t id = user.value.id();
        std::string username = user.value.name() + "#" + std::to_string(id);
        ask(
            ctx, ctx.core.ledger, ask_timeout,
            [r, key, id, username](pb<v1::LedgerEntry>& e) {
              reply_json(r, 200,
                         json{{"api_key", key},
                              {"user_id", id},
                              {"username", username},
                              {"kudos", static_cast<double>(e.value.amount_mk()) / 1000.0}});
            },
            [r](const status& s) { reply_status_error(r, s); }, grant_atom::value, id, int64_t{1'000'000},
            "test-user:" + std::to_string(id));
      },
      [r](const status& s) { reply_status_error(r, s); }, user_add_atom::value, name);
}

}  // namespace

bool route_info(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  if (req.path == "/api/swagger.json" && req.method == "GET") {
    r->reply(200, "application/json", swagger_document(ctx.public_url));
    return true;
  }
  auto seg = segments(req.path);
  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v2")
    return false;
  const auto& family = seg[2];
  if (family == "status" && seg.size() == 4 && req.method == "GET") {
    if (seg[3] == "heartbeat") {
      reply_json(r, 200, json{{"message", "OK"}, {"version", "crowdiff " + std::string(version())}});
      return true;
    }
    if (seg[3] == "models") {
      ask(
          ctx, ctx.core.scheduler, ask_timeout,
          [r](model_stats& stats) {
            json out = json::array();
            for (const auto& m : stats)
              out.push_back(json{{"name", m.name},
                                 {"count", m.workers},
                                 {"performance", m.performance * 1e6},
                                 {"queued", m.queued * 1e6},
                                 {"jobs", m.jobs},
                                 {"eta", m.eta_s},
                                 {"type", "image"}});
            reply_json(r, 200, out);
          },
          [r](const status& s) { reply_status_error(r, s); }, model_stats_atom::value);
      return true;
    }
    if (seg[3] == "performance") {
      ask(
          ctx, ctx.core.scheduler, ask_timeout,
          [r](scheduler_load& l) {
            reply_json(r, 200,
                       json{{"queued_requests", l.queued_images + l.running_images},
                            {"queued_megapixelsteps", l.queued_megapixel_steps},
                            {"past_minute_megapixelsteps", l.past_minute_megapixel_steps},
                            {"worker_count", l.worker_count},
                            {"thread_count", l.slot_count},
                            {"queued_text_requests", 0},
                            {"text_worker_count", 0},
                            {"text_thread_count", 0},
                            {"queued_tokens", 0},
                            {"past_minute_tokens", 0},
                            {"interrogator_count", 0},
                            {"interrogator_thread_count", 0},
                            {"queued_forms", 0}});
          },
          [r](const status& s) { reply_status_error(r, s); }, load_atom::value);
      return true;
    }
    return false;
  }
  if (family == "stats" && seg.size() == 5 && seg[3] == "img" && seg[4] == "totals" && req.method == "GET") {
    ask(
        ctx, ctx.core.broker, ask_timeout,
        [r](image_totals& t) {
          auto window = [](uint64_t images, double ps) { return json{{"images", images}, {"ps", ps}}; };
          reply_json(r, 200,
                     json{{"minute", window(t.minute_images, t.minute_ps)},
                          {"hour", window(t.hour_images, t.hour_ps)},
                          {"day", window(t.day_images, t.day_ps)},
                          {"month", window(t.month_images, t.month_ps)},
                          {"total", window(t.total_images, t.total_ps)}});
        },
        [r](const status& s) { reply_status_error(r, s); }, stats_atom::value);
    return true;
  }
  if (family == "users" && seg.size() == 3 && req.method == "GET") {
    list_users(ctx, req, r);
    return true;
  }
  if (family == "users" && seg.size() == 4 && req.method == "GET") {
    auto user = find_user(ctx, seg[3]);
    if (!user) {
      reply_error(r, 404, "no such user", "UserNotFound");
      return true;
    }
    reply_json(r, 200, user_json(ctx, *user));
    return true;
  }
  if (family == "find_user" && seg.size() == 3 && req.method == "GET") {
    auto who = authenticate_or_reply(ctx, req, r);
    if (!who)
      return true;
    auto user = find_user(ctx, std::to_string(who->user_id));
    if (!user) {
      reply_error(r, 404, "no such user", "UserNotFound");
      return true;
    }
    reply_json(r, 200, user_json(ctx, *user));
    return true;
  }
  if (family == "kudos" && seg.size() == 4 && seg[3] == "transfer" && req.method == "POST") {
    transfer(ctx, req, r);
    return true;
  }
  if (family == "dev" && seg.size() == 4 && seg[3] == "test-user" && req.method == "POST") {
    test_user(ctx, req, r);
    return true;
  }
  return false;
}

}  // namespace crowdiff::gateway
