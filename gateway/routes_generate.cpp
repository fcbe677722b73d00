// /v2/generate/*: async, check, status (GET and DELETE), live events, and the image links.
#include <cmath>

#include <caf/all.hpp>
#include <sodium.h>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/utf8.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/gateway_context.hpp"
#include "persistence/record_codec.hpp"

namespace crowdiff::gateway {
namespace {

std::string base64(const std::string& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<uuid> job_id_or_404(const std::string& text, const reply_ptr& r) {
  auto id = uuid::parse(text);
  if (!id)
    reply_error(r, 404, "request not found", "RequestNotFound");
  return id;
}

// The full status: the lite fields, `shared`, and every delivered image, fetched one after another. The
// fetch in flight owns the gathering (no cycle: it is freed with the last reply).
struct full_status : std::enable_shared_from_this<full_status> {
  full_status(gateway_context& c, const uuid& j, bool inline_imgs, reply_ptr rp)
      : ctx(c), job(j), inline_images(inline_imgs), r(std::move(rp)) {}

  void next() {
    if (done == pending.size()) {
      reply_json(r, 200, body);
      return;
    }
    uint32_t index = pending[done++];
    ask(
        ctx, ctx.core.broker, ask_timeout,
        [self = shared_from_this(), index](pb<v1::GenerationResult>& res) {
          std::string img =
              self->inline_images ? base64(res.value.image()) : image_url(self->ctx, self->job, index);
          self->body["generations"].push_back(generation_json(res.value, self->job, std::move(img)));
          self->next();
        },
        // An expired image is left out, as AI Horde does.
        [self = shared_from_this()](const status&) { self->next(); }, fetch_atom::value, job, index);
  }

  gateway_context& ctx;
  uuid job;
  bool inline_images;
  reply_ptr r;
  json body;
  std::vector<uint32_t> pending;
  size_t done = 0;
};

void reply_full_status(gateway_context& ctx, const uuid& job, v1::JobStatus st, bool inline_images,
                       const reply_ptr& r) {
  auto gather = std::make_shared<full_status>(ctx, job, inline_images, r);
  gather->body = check_json(st, wall_ms());
  gather->body["shared"] = false;
  gather->body["generations"] = json::array();
  for (int i = 0; i < st.images_size(); ++i)
    if (st.images(i).state() == v1::IMAGE_DONE)
      gather->pending.push_back(static_cast<uint32_t>(i));
  gather->next();
}

void with_request_flags(gateway_context& ctx, const uuid& job, std::function<void(bool inline_images)> then) {
  // Whether the requester asked for inline images lives in the stored request.
  bool inline_images = false;
  if (auto txn = ctx.store->read(); txn) {
    v1::JobRecord rec;
    auto found = persistence::read_record(**txn, persistence::table::jobs, job.to_bytes(), rec);
    if (found && *found)
      inline_images = rec.request().inline_images();
  }
  then(inline_images);
}

std::string sse(const std::string& event, const json& data) {
  return "event: " + event + "\ndata: " + write_json(data) + "\n\n";
}

// Streams a job's events as Server-Sent Events until it ends or the client goes away.
void stream_events(gateway_context& ctx, const uuid& job, const reply_ptr& r) {
  r->start_stream("text/event-stream");
  auto broker = ctx.core.broker;
  // Shared: the stream may outlive the gateway (image_url reads only what is fixed at its start).
  auto c = ctx.shared_from_this();
  // The job goes in as a spawn argument, not a capture: see ask() in actor_bridge.hpp.
  auto streamer = [broker, r, c](caf::event_based_actor* self, uuid id) -> caf::behavior {
    auto terminal = [](v1::JobState s) { return s == v1::DONE || s == v1::FAILED || s == v1::CANCELLED; };
    self->request(broker, ask_timeout, subscribe_atom::value, id, caf::actor_cast<caf::actor>(self))
        .then(
            [self, r, terminal](pb<v1::JobStatus>& st) {
              r->send(sse("state", check_json(st.value, wall_ms())));
              if (terminal(st.value.state())) {
                r->close();
                self->quit();
              }
            },
            [self, r](const caf::error& e) {
              r->send(sse("error", json{{"message", to_status(e).message()}}));
              r->close();
              self->quit();
            });
    return {
        [self, r, terminal, id](event_atom, pb<v1::JobEvent>& ev) {
          const auto& e = ev.value;
          json data = check_json(e.status(), wall_ms());
          const char* name = "state";
          if (e.kind() == v1::JobEvent::PROGRESS) {
            name = "progress";
            data["image"] = e.image_index();
            data["step"] = e.step();
            data["total_steps"] = e.total_steps();
          } else if (e.kind() == v1::JobEvent::IMAGE) {
            name = "image";
            data["image"] = e.image_index();
            data["id"] = image_id(id, e.image_index()).to_string();
          }
          if (!r->send(sse(name, data))) {
            self->quit();
            return;
          }
          if (e.kind() == v1::JobEvent::STATE && terminal(e.status().state())) {
            r->close();
            self->quit();
          }
        },
        [self, r, c, id](image_atom, pb<v1::GenerationResult>& res) {
          json data = generation_json(res.value, id, image_url(*c, id, res.value.image_index()));
          if (!r->send(sse("generation", data)))
            self->quit();
        },
        caf::after(std::chrono::seconds(15)) >>
            [self, r] {
              // A comment line keeps proxies from closing an idle stream, and finds clients that left.
              if (r->closed() || !r->send(": keepalive\n\n"))
                self->quit();
            },
    };
  };
  ctx.system->spawn(streamer, job);
}

void generate_async(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  json body;
  if (!parse_body(ctx, req, r, body))
    return;
  generate_input in;
  field_errors errors;
  if (!parse_generate(body, in, errors)) {
    reply_error(r, 400, "Input payload validation failed", "ValidationError", errors);
    return;
  }
  auto agent = req.header("client-agent");
  // Headers are UTF-8 here (http_server refuses others); cuts fall between characters.
  in.request.set_client_agent(agent.empty() ? "unknown:0:unknown" : std::string(truncate_utf8(agent, 256)));
  if (auto key = req.header("idempotency-key"); !key.empty())
    in.request.set_idempotency_key(std::string(truncate_utf8(key, 128)));
  if (in.webhook && !in.webhook->tls && !ctx.config.webhook_http_loopback()) {
    reply_error(
        r, 400, "Input payload validation failed", "ValidationError",
        {{"webhook", "plain http webhooks are off on this node (gateway.webhook_http_loopback): use https"}});
    return;
  }
  if (in.dry_run) {
    ask(
        ctx, ctx.core.broker, ask_timeout,
        [r](pb<v1::KudosQuote>& q) {
          reply_json(r, 200, json{{"kudos", std::llround(static_cast<double>(q.value.total_mk()) / 1000.0)}});
        },
        [r](const status& s) { reply_status_error(r, s); }, quote_atom::value, api_key_of(req),
        pb<v1::JobRequest>{in.request});
    return;
  }
  auto key = api_key_of(req);
  auto webhook = std::move(in.webhook);
  ask(
      ctx, ctx.core.broker, ask_timeout,
      [&ctx, r, webhook](pb<v1::SubmitReply>& reply) {
        auto id = *uuid::from_bytes(reply.value.job_id());
        json out;
        out["id"] = id.to_string();
        out["kudos"] = std::llround(static_cast<double>(reply.value.quote().total_mk()) / 1000.0);
        if (!reply.value.possible()) {
          out["message"] = "No online worker can run this request now; it waits until one can or it expires.";
          out["warnings"] = json::array({json{{"code", "NoAvailableWorker"}, {"message", out["message"]}}});
        }
        // A resubmission is the earlier job: its own submit already follows it (or a restart re-armed it).
        if (webhook && !reply.value.resubmitted())
          ctx.watchers->watch(id, *webhook);
        reply_json(r, 202, out);
      },
      [r](const status& s) {
        // Over the free limits without the price in hand: the AI Horde's answer.
        if (s.code() == errc::insufficient_kudos)
          reply_error(r, 403, s.message(), "KudosUpfront");
        else
          reply_status_error(r, s);
      },
      submit_atom::value, key, pb<v1::JobRequest>{in.request});
}

}  // namespace

bool route_generate(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  auto seg = segments(req.path);
  // /api/v2/generate/...
  if (seg.size() < 4 || seg[0] != "api" || seg[1] != "v2")
    return false;
  if (seg[2] == "generate") {
    if (seg.size() == 4 && seg[3] == "async" && req.method == "POST") {
      generate_async(ctx, req, r);
      return true;
    }
    if (seg.size() == 5 && seg[3] == "check" && req.method == "GET") {
      auto job = job_id_or_404(seg[4], r);
      if (!job)
        return true;
      ask(
          ctx, ctx.core.broker, ask_timeout,
          [r](pb<v1::JobStatus>& st) { reply_json(r, 200, check_json(st.value, wall_ms())); },
          [r](const status& s) { reply_status_error(r, s); }, status_atom::value, *job);
      return true;
    }
    if (seg.size() == 5 && seg[3] == "status" && (req.method == "GET" || req.method == "DELETE")) {
      auto job = job_id_or_404(seg[4], r);
      if (!job)
        return true;
      bool cancel = req.method == "DELETE";
      with_request_flags(ctx, *job, [&ctx, r, job, cancel](bool inline_images) {
        auto on_status = [&ctx, r, job, inline_images](pb<v1::JobStatus>& st) {
          reply_full_status(ctx, *job, std::move(st.value), inline_images, r);
        };
        auto on_error = [r](const status& s) { reply_status_error(r, s); };
        if (cancel)
          ask(ctx, ctx.core.broker, ask_timeout, on_status, on_error, cancel_atom::value, *job);
        else
          ask(ctx, ctx.core.broker, ask_timeout, on_status, on_error, status_atom::value, *job);
      });
      return true;
    }
    if (seg.size() == 5 && seg[3] == "events" && req.method == "GET") {
      auto job = job_id_or_404(seg[4], r);
      if (job)
        stream_events(ctx, *job, r);
      return true;
    }
    return false;
  }
  // /api/v2/r2/image/<job>/<index> and /api/v2/r2/upload/<image id>: the R2 stand-in.
  if (seg[2] == "r2") {
    int64_t now_s = wall_ms() / 1000;
    if (!ctx.urls.check(req.path, req.query["expires"], req.query["sig"], now_s)) {
      reply_error(r, 403, "the link is invalid or has expired", "InvalidLink");
      return true;
    }
    if (seg.size() == 6 && seg[3] == "image" && req.method == "GET") {
      auto job = uuid::parse(seg[4]);
      uint32_t index = static_cast<uint32_t>(std::strtoul(seg[5].c_str(), nullptr, 10));
      if (!job) {
        reply_error(r, 404, "no such image", "RequestNotFound");
        return true;
      }
      ask(
          ctx, ctx.core.broker, ask_timeout,
          [r](pb<v1::GenerationResult>& res) {
            std::string type = res.value.format() == "png" ? "image/png" : "image/webp";
            r->reply(200, type, std::move(*res.value.mutable_image()),
                     {{"Cache-Control", "private, max-age=1800"}});
          },
          [r](const status& s) { reply_status_error(r, s); }, fetch_atom::value, *job, index);
      return true;
    }
    if (seg.size() == 5 && seg[3] == "upload" && req.method == "PUT") {
      auto image = uuid::parse(seg[4]);
      if (!image || req.body.empty()) {
        reply_error(r, 400, "an upload needs an image id and bytes", "BadRequest");
        return true;
      }
      status kept;
      {
        std::lock_guard lock{ctx.uploads_mutex};
        kept = ctx.uploads.put(*image, std::move(req.body), wall_ms());
      }
      if (!kept) {
        log::warning("upload_refused").kv("image", image->to_string()).kv("reason", kept.message());
        reply_error(r, 507, "the server holds too many uploads now; submit yours as base64 or try later",
                    "UploadsFull");
        return true;
      }
      r->reply(200, "application/json", "{}");
      return true;
    }
  }
  return false;
}

}  // namespace crowdiff::gateway
