// Status, models, performance, statistics, users, kudos transfers, the test-user endpoint and Swagger.
#include <cmath>

#include <caf/all.hpp>

#include "common/clock.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/swagger.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/user_table.hpp"
#include "persistence/worker_table.hpp"

namespace crowdiff::gateway {
namespace {

json user_json(gateway_context& ctx, const v1::UserRecord& u) {
  json out;
  out["username"] = u.name() + "#" + std::to_string(u.id());
  out["id"] = u.id();
  int64_t balance = 0;
  int64_t earned = 0;
  int64_t spent = 0;
  json worker_ids = json::array();
  double contributed_mps = 0;
  uint64_t fulfilled = 0;
  if (auto txn = ctx.store->read(); txn) {
    if (auto b = persistence::ledger_book::balance(**txn, u.id()); b) {
      balance = b->balance_mk();
      earned = b->earned_mk();
      spent = b->spent_mk();
    }
    (void)persistence::worker_table::scan(**txn, [&](v1::WorkerRecord& w) {
      if (w.registration().owner_user_id() == u.id()) {
        worker_ids.push_back(std::to_string(w.id()));
        contributed_mps += w.megapixel_steps_done();
        fulfilled += w.images_done();
      }
      return true;
    });
  }
  out["kudos"] = static_cast<double>(balance) / 1000.0;
  out["kudos_details"] = {{"accumulated", static_cast<double>(earned) / 1000.0},
                          {"gifted", 0},
                          {"donated", 0},
                          {"admin", 0},
                          {"received", 0},
                          {"recurring", 0},
                          {"awarded", 0}};
  out["records"] = {{"usage", {{"megapixelsteps", 0}, {"tokens", 0}}},
                    {"contribution", {{"megapixelsteps", contributed_mps}, {"tokens", 0}}},
                    {"fulfillment", {{"image", fulfilled}, {"text", 0}, {"interrogation", 0}}},
                    {"request", {{"image", 0}, {"text", 0}, {"interrogation", 0}}}};
  out["kudos_spent"] = static_cast<double>(spent) / 1000.0;
  out["concurrency"] = u.max_concurrent_jobs() != 0 ? u.max_concurrent_jobs() : 30;
  out["worker_invited"] = 0;
  out["moderator"] = u.admin();
  out["trusted"] = false;
  out["flagged"] = false;
  out["pseudonymous"] = false;
  out["service"] = false;
  out["deleted"] = false;
  out["worker_count"] = worker_ids.size();
  out["worker_ids"] = worker_ids;
  out["account_age"] = std::max<int64_t>(0, (wall_ms() - u.created_ms()) / 1000);
  return out;
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
  if (!parse_body(req, r, body))
    return;
  if (!body.is_object() || !body.contains("username") || !body["username"].is_string()) {
    reply_error(r, 400, "Input payload validation failed", "ValidationError", {{"username", "is required"}});
    return;
  }
  int64_t amount = 100;
  if (body.contains("amount")) {
    if (!body["amount"].is_number() || !std::isfinite(body["amount"].get<double>()) ||
        body["amount"].get<double>() <= 0 || body["amount"].get<double>() > 1e12) {
      reply_error(r, 400, "Input payload validation failed", "ValidationError",
                  {{"amount", "must be a positive number"}});
      return;
    }
    amount = std::llround(body["amount"].get<double>() * 1000);
  } else {
    amount *= 1000;
  }
  auto target = find_user(ctx, body["username"].get<std::string>());
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
      *ctx.system, ctx.core.ledger, ask_timeout,
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
      *ctx.system, ctx.core.ledger, ask_timeout,
      [&ctx, r](pb<v1::UserRecord>& user, std::string& key) {
        uint64_t id = user.value.id();
        std::string username = user.value.name() + "#" + std::to_string(id);
        ask(
            *ctx.system, ctx.core.ledger, ask_timeout,
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
      reply_json(r, 200, json{{"message", "OK"}, {"version", "crowdiff 0.1.0"}});
      return true;
    }
    if (seg[3] == "models") {
      ask(
          *ctx.system, ctx.core.scheduler, ask_timeout,
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
          *ctx.system, ctx.core.scheduler, ask_timeout,
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
        *ctx.system, ctx.core.broker, ask_timeout,
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
