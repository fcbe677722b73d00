#include "gateway/gateway.hpp"

#include <fstream>
#include <sstream>

#include <caf/all.hpp>

#include "common/api_key.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/http_server.hpp"
#include "gateway/web_assets.hpp"

namespace crowdiff::gateway {

struct http_gateway::impl {
  std::shared_ptr<gateway_context> ctx;  // shared with callbacks still pending (gateway_context.hpp)
  std::unique_ptr<http_server> server;
  uint16_t port = 0;
};

// -- helpers shared by the routes
// ------------------------------------------------------------------------------

void reply_json(const reply_ptr& r, unsigned status, const json& body) {
  r->reply(status, "application/json", write_json(body));
}

void reply_error(const reply_ptr& r, unsigned status, const std::string& message, const std::string& rc,
                 const field_errors& errors) {
  std::vector<std::pair<std::string, std::string>> headers;
  r->reply(status, "application/json", error_body(message, rc, errors), std::move(headers));
}

void reply_status_error(const reply_ptr& r, const status& s, const std::string& not_found_rc) {
  auto [code, rc] = http_error_of(s);
  if (s.code() == errc::not_found)
    rc = not_found_rc;
  std::vector<std::pair<std::string, std::string>> headers;
  if (code == 429)
    headers.emplace_back("Retry-After", "5");
  r->reply(code, "application/json",
           error_body(s.message().empty() ? std::string(to_string(s.code())) : s.message(), rc),
           std::move(headers));
}

std::string api_key_of(const http_request& req) {
  auto key = req.header("apikey");
  return key.empty() ? std::string(anonymous_api_key) : key;
}

std::optional<detail::principal> authenticate_or_reply(gateway_context& ctx, const http_request& req,
                                                       const reply_ptr& r, bool allow_anonymous) {
  auto key = api_key_of(req);
  auto who = detail::authenticate(*ctx.store, key);
  if (!who) {
    reply_error(r, 401, "invalid API key", "InvalidAPIKey");
    return std::nullopt;
  }
  if (!allow_anonymous && who->anonymous) {
    reply_error(r, 403, "the anonymous account cannot do this", "AnonForbidden");
    return std::nullopt;
  }
  return *who;
}

bool parse_body(gateway_context& ctx, const http_request& req, const reply_ptr& r, json& out) {
  return parse_body(ctx, std::string_view{req.body}, r, out);
}

bool parse_body(gateway_context& ctx, std::string_view body, const reply_ptr& r, json& out) {
  auto parsed = parse_bounded_json(body, {ctx.config.max_json_depth(), ctx.config.max_json_values()});
  if (!parsed) {
    reply_error(r, 400, parsed.error().message(), "BadRequest");
    return false;
  }
  out = std::move(*parsed);
  return true;
}

std::string image_url(gateway_context& ctx, const uuid& job, uint32_t index) {
  int64_t expires = wall_ms() / 1000 + ctx.config.image_url_ttl_s();
  return ctx.public_url +
         ctx.urls.sign("/api/v2/r2/image/" + job.to_string() + "/" + std::to_string(index), expires);
}

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos)
      slash = path.size();
    if (slash > start)
      out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

namespace {

std::string content_type_for(const std::string& path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends(".html"))
    return "text/html; charset=utf-8";
  if (ends(".js"))
    return "text/javascript; charset=utf-8";
  if (ends(".css"))
    return "text/css; charset=utf-8";
  if (ends(".svg"))
    return "image/svg+xml";
  if (ends(".png"))
    return "image/png";
  if (ends(".json"))
    return "application/json";
  return "application/octet-stream";
}

}  // namespace

bool route_web(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  if (req.method != "GET")
    return false;
  std::string path = req.path == "/" ? "/index.html" : req.path;
  if (!ctx.config.web_root().empty()) {
    // Serving from a folder (for working on the page without relinking): only plain names inside it.
    if (path.find("..") != std::string::npos || path.find('\\') != std::string::npos)
      return false;
    std::ifstream in(ctx.config.web_root() + path, std::ios::binary);
    if (!in)
      return false;
    std::stringstream bytes;
    bytes << in.rdbuf();
    r->reply(200, content_type_for(path), bytes.str(), {{"Cache-Control", "no-cache"}});
    return true;
  }
  for (const auto& a : web_assets()) {
    if (path == a.path) {
      r->reply(200, a.content_type, std::string(reinterpret_cast<const char*>(a.data), a.size),
               {{"Cache-Control", "no-cache"}});
      return true;
    }
  }
  return false;
}

// -- dispatch
// --------------------------------------------------------------------------------------------------

namespace {

void dispatch(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  bool api = req.path.rfind("/api/", 0) == 0;
  // Rate limits: per API key (or, for anonymous and key-less requests, per address) and per address.
  if (api && (!req.loopback || ctx.config.rate_limit_loopback()) && req.path.rfind("/api/v2/r2/", 0) != 0) {
    int64_t now = wall_ms();
    auto key = api_key_of(req);
    int64_t wait = ctx.per_ip.take("ip:" + req.peer, now);
    if (wait == 0 && key != anonymous_api_key)
      wait = ctx.per_key.take("key:" + key, now);
    if (wait > 0) {
      r->reply(429, "application/json", error_body("too many requests; slow down", "TooManyRequests"),
               {{"Retry-After", std::to_string(wait)}});
      return;
    }
  }
  if (route_generate(ctx, req, r) || route_workers(ctx, req, r) || route_info(ctx, req, r))
    return;
  if (!api && route_web(ctx, req, r))
    return;
  reply_error(r, 404, "no such endpoint: " + req.method + " " + req.path, "NotFound");
}

}  // namespace

result<std::unique_ptr<http_gateway>> http_gateway::start(caf::actor_system& system, const core_handles& core,
                                                          persistence::store& store,
                                                          const v1::NodeConfig& config) {
  const auto& g = config.gateway();
  auto p = std::make_unique<impl>();
  p->ctx = std::make_shared<gateway_context>(g.requests_per_s_per_key(), g.requests_per_s_per_ip(),
                                             static_cast<double>(g.burst()));
  auto& ctx = *p->ctx;
  ctx.system = &system;
  ctx.core = core;
  ctx.store = &store;
  ctx.config = g;
  ctx.uploads = upload_store(g.max_upload_bytes(), int64_t{g.upload_ttl_s()} * 1000);
  webhook_options hooks;
  hooks.attempts = g.webhook_attempts();
  hooks.backoff = std::chrono::milliseconds(g.webhook_backoff_ms());
  hooks.timeout = std::chrono::milliseconds(g.webhook_timeout_ms());
  hooks.max_pending = g.webhook_max_pending();
  hooks.ca_file = g.webhook_ca_file();
  hooks.private_receivers = g.webhook_private_addresses();
  auto sender = webhook_sender::start(hooks);
  if (!sender)
    return sender.error();
  ctx.webhooks = std::move(*sender);
  auto* ctxp = &ctx;
  ctx.watchers = std::make_unique<webhook_watchers>(
      system, core.broker, *ctx.webhooks,
      [ctxp](const uuid& job, uint32_t index) { return image_url(*ctxp, job, index); }, &store);
  http_server::options opts;
  opts.host = g.listen_host().empty() ? "0.0.0.0" : g.listen_host();
  opts.port = static_cast<uint16_t>(g.http_port());
  opts.max_body_bytes = g.max_body_bytes();
  opts.threads = 1;
  opts.header_timeout = std::chrono::milliseconds(g.header_timeout_ms());
  opts.body_timeout = std::chrono::milliseconds(g.body_timeout_ms());
  opts.idle_timeout = std::chrono::milliseconds(g.idle_timeout_ms());
  opts.write_timeout = std::chrono::milliseconds(g.write_timeout_ms());
  opts.max_connections = g.max_connections();
  opts.max_connections_per_ip = g.max_connections_per_ip();
  opts.max_body_bytes_in_flight = g.max_body_bytes_in_flight();
  opts.max_body_bytes_in_flight_per_ip = g.max_body_bytes_in_flight_per_ip();
  opts.max_stream_backlog_bytes = g.max_stream_backlog_bytes();
  p->server = std::make_unique<http_server>(opts, [ctxp](http_request& req, std::shared_ptr<responder> r) {
    if (req.method != "GET" && req.method != "POST" && req.method != "PUT" && req.method != "DELETE") {
      reply_error(r, 405, "method not allowed", "MethodNotAllowed");
      return;
    }
    dispatch(*ctxp, req, r);
  });
  // Handlers read public_url without a lock: it is set before the first request is read.
  auto port = p->server->start([&](uint16_t bound) {
    ctx.public_url = !g.public_url().empty()
                         ? g.public_url()
                         : "http://" + std::string(opts.host == "0.0.0.0" ? "127.0.0.1" : opts.host) + ":" +
                               std::to_string(bound);
  });
  if (!port)
    return port.error();
  p->port = *port;
  log::info("gateway_listening").kv("port", *port).kv("url", ctx.public_url);
  // Jobs accepted before a restart still call their webhooks, and `done`s owed then are POSTed now.
  if (auto armed = ctx.watchers->rearm(g.webhook_http_loopback()); !armed)
    log::error("webhooks_not_rearmed").kv("error", armed.error().to_string());
  return std::unique_ptr<http_gateway>{new http_gateway(std::move(p))};
}

http_gateway::http_gateway(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

http_gateway::~http_gateway() {
  stop();
}

uint16_t http_gateway::port() const {
  return impl_->port;
}

void http_gateway::stop() {
  if (!impl_ || !impl_->server)
    return;
  impl_->server->stop();
  impl_->server.reset();
  auto& ctx = *impl_->ctx;
  {
    // Waits for callbacks running now; later ones do nothing.
    std::unique_lock lock{ctx.gate};
    ctx.open = false;
  }
  {
    std::lock_guard lock{ctx.workers_mutex};
    for (auto& [key, w] : ctx.http_workers)
      caf::anon_send(w, drain_atom::value);
    ctx.http_workers.clear();
  }
  // Followers first (they hand events to the sender), then what is still queued gets its last try.
  if (ctx.watchers)
    ctx.watchers->stop();
  ctx.webhooks->stop();
}

}  // namespace crowdiff::gateway
