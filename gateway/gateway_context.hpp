#pragma once

// What the route handlers share. Internal to gateway/.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/detail/authenticate.hpp"
#include "actors/node/core_node.hpp"
#include "crowdiff/v1/config.pb.h"
#include "gateway/actor_bridge.hpp"
#include "gateway/bounded_json.hpp"
#include "gateway/horde_json.hpp"
#include "gateway/http_server.hpp"
#include "gateway/rate_limiter.hpp"
#include "gateway/signed_urls.hpp"
#include "gateway/upload_store.hpp"
#include "gateway/webhook_watch.hpp"
#include "gateway/webhooks.hpp"
#include "persistence/store.hpp"

namespace crowdiff::gateway {

using json = nlohmann::json;
using reply_ptr = std::shared_ptr<responder>;

inline constexpr auto ask_timeout = std::chrono::seconds(30);

/// Where a popped image was handed out: its worker and the owner who may submit it.
struct handed_out {
  http_worker_actor worker;
  uint64_t owner = 0;
  int64_t when_ms = 0;
};

/// Shared by the gateway and the callbacks its handlers leave behind (replies that come later): they hold it
/// by shared_ptr, so it outlives them.
struct gateway_context : std::enable_shared_from_this<gateway_context> {
  caf::actor_system* system = nullptr;
  core_handles core;
  persistence::store* store = nullptr;
  v1::GatewayConfig config;
  std::string public_url;  ///< e.g. http://127.0.0.1:7842
  signed_urls urls;
  rate_limiter per_key;
  rate_limiter per_ip;
  std::unique_ptr<webhook_sender> webhooks;
  std::unique_ptr<webhook_watchers> watchers;  ///< stopped before `webhooks`, which they use

  // HTTP workers by owner and name.
  std::mutex workers_mutex;
  std::map<std::pair<uint64_t, std::string>, http_worker_actor> http_workers;

  // Images popped by HTTP workers and not yet submitted, by image id.
  std::mutex handed_mutex;
  std::map<uuid, handed_out> handed;

  // Images uploaded by HTTP workers before they submit ("R2"), by image id.
  std::mutex uploads_mutex;
  upload_store uploads{0, 0};  // set from the configuration at start

  /// Bytes of request bodies handed to CAF threads to parse (off_http_thread) and not yet parsed: bounded
  /// like the bodies being read (max_body_bytes_in_flight), since the server reads the next request
  /// meanwhile.
  std::atomic<uint64_t> offloaded_bytes{0};

  /// A callback that runs after its handler returned holds `gate` shared while it runs and does nothing once
  /// `open` is false; http_gateway::stop() closes it holding `gate` exclusively, so after stop() no callback
  /// touches the store, the core or the webhooks, which may be gone.
  std::shared_mutex gate;
  bool open = true;

  gateway_context(double key_rate, double ip_rate, double burst)
      : per_key(key_rate, burst), per_ip(ip_rate, burst) {}
};

namespace callbacks {

template <class F, class... Args>
auto while_open(std::shared_ptr<gateway_context> c, F f, caf::detail::type_list<Args...>) {
  return [c = std::move(c), f = std::move(f)](Args... xs) mutable {
    std::shared_lock lock{c->gate};
    if (c->open)
      f(std::forward<Args>(xs)...);
  };
}

}  // namespace callbacks

/// ask() (actor_bridge.hpp) for the routes: the callbacks run only while the gateway is open (see `gate`);
/// after it stopped, nobody waits for their answer.
template <class Handle, class OnValue, class OnError, class... Ts>
void ask(gateway_context& ctx, const Handle& dest, std::chrono::milliseconds timeout, OnValue on_value,
         OnError on_error, Ts... xs) {
  auto c = ctx.shared_from_this();
  using value_args = typename caf::detail::get_callable_trait<OnValue>::arg_types;
  ask(*ctx.system, dest, timeout, callbacks::while_open(c, std::move(on_value), value_args{}),
      callbacks::while_open(c, std::move(on_error), caf::detail::type_list<const status&>{}),
      std::move(xs)...);
}

/// Runs `work()` on a CAF thread instead of the HTTP thread, while the gateway is open: for a request whose
/// body costs milliseconds to parse (an HTTP worker's image in base64), so it does not hold up everyone
/// else's requests on the one HTTP thread. `bytes` (the body's size) count against `offloaded_bytes` until
/// `work` has run; false, and nothing runs, when they would pass the cap (the caller answers 503).
template <class F>
bool off_http_thread(gateway_context& ctx, uint64_t bytes, F work) {
  const uint64_t cap = ctx.config.max_body_bytes_in_flight();
  if (ctx.offloaded_bytes.fetch_add(bytes) + bytes > cap) {
    ctx.offloaded_bytes.fetch_sub(bytes);
    return false;
  }
  auto c = ctx.shared_from_this();
  // An argument for the function actor: CAF 0.17 dereferences an empty argument tuple (see actor_bridge.hpp).
  ctx.system->spawn(
      [c, bytes, work = std::move(work)](caf::event_based_actor*, uint64_t) mutable {
        // The bytes come back however `work` ends (it must catch its own exceptions and answer them).
        struct give_back {
          gateway_context& ctx;
          uint64_t bytes;
          ~give_back() { ctx.offloaded_bytes.fetch_sub(bytes); }
        } guard{*c, bytes};
        std::shared_lock lock{c->gate};
        if (c->open)
          work(*c);
      },
      bytes);
  return true;
}

// Responses.
void reply_json(const reply_ptr& r, unsigned status, const json& body);
void reply_error(const reply_ptr& r, unsigned status, const std::string& message, const std::string& rc,
                 const field_errors& errors = {});
void reply_status_error(const reply_ptr& r, const status& s,
                        const std::string& not_found_rc = "RequestNotFound");

/// The API key of a request: the `apikey` header, or the anonymous key when it has none (as the AI Horde).
std::string api_key_of(const http_request& req);

/// Authenticates the request's key; answers 401 itself and returns nullopt when it is wrong.
std::optional<detail::principal> authenticate_or_reply(gateway_context& ctx, const http_request& req,
                                                       const reply_ptr& r, bool allow_anonymous = true);

/// Parses the body as JSON within the configured depth and size; answers 400 itself and returns false when it
/// is not JSON or passes a limit.
bool parse_body(gateway_context& ctx, const http_request& req, const reply_ptr& r, json& out);
bool parse_body(gateway_context& ctx, std::string_view body, const reply_ptr& r, json& out);

/// A link to an image of a job, valid for the configured time.
std::string image_url(gateway_context& ctx, const uuid& job, uint32_t index);

// Route families (routes_*.cpp). Each returns true when it handled the request.
bool route_generate(gateway_context& ctx, http_request& req, const reply_ptr& r);
bool route_workers(gateway_context& ctx, http_request& req, const reply_ptr& r);
bool route_info(gateway_context& ctx, http_request& req, const reply_ptr& r);
bool route_web(gateway_context& ctx, http_request& req, const reply_ptr& r);

/// Splits a path into its segments ("/api/v2/a/b" -> {"api","v2","a","b"}).
std::vector<std::string> segments(const std::string& path);

}  // namespace crowdiff::gateway
