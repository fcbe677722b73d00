// HTTP workers (/v2/generate/pop, /v2/generate/submit) and /v2/workers.
#include <cmath>

#include <caf/all.hpp>
#include <sodium.h>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/utf8.hpp"
#include "gateway/actor_bridge.hpp"
#include "gateway/gateway_context.hpp"
#include "gateway/horde_requests.hpp"
#include "gateway/http_worker.hpp"
#include "gateway/http_worker_state.hpp"
#include "models/image/image_format.hpp"
#include "persistence/worker_table.hpp"

namespace crowdiff::gateway {
namespace {

std::string base64(const std::string& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

// AI Horde's words: workers (reGen) match "Processing Job with ID" and "does not exist" to drop the job.
std::string unknown_job_message(const uuid& image) {
  return "Processing Job with ID " + image.to_string() + " does not exist.";
}

json pop_reply_json(gateway_context& ctx, const v1::TaskSpec& t) {
  auto job = *uuid::from_bytes(t.job_id());
  auto image = image_id(job, t.image_index());
  const auto& req = t.request();
  json payload;
  payload["prompt"] =
      req.negative_prompt().empty() ? req.prompt() : req.prompt() + "###" + req.negative_prompt();
  payload["ddim_steps"] = req.steps();
  payload["n_iter"] = 1;
  payload["seed"] = std::to_string(t.seed());
  payload["sampler_name"] = sampler_name(req.sampler());
  payload["cfg_scale"] = req.cfg_scale();
  payload["width"] = req.width();
  payload["height"] = req.height();
  payload["karras"] = req.karras();
  payload["tiling"] = false;
  payload["hires_fix"] = false;
  payload["image_is_control"] = false;
  payload["return_control_map"] = false;
  payload["transparent"] = false;
  payload["post_processing"] = json::array();
  payload["clip_skip"] = std::max<uint32_t>(1, req.clip_skip());
  payload["use_nsfw_censor"] = false;
  if (!req.source_image().empty())
    payload["denoising_strength"] = req.denoising_strength();
  json out;
  out["id"] = image.to_string();
  out["ids"] = json::array({image.to_string()});
  out["payload"] = payload;
  out["model"] = t.model();
  out["ttl"] = (3 * t.estimated_ms() + 30'000) / 1000;
  if (!req.source_image().empty()) {
    out["source_image"] = base64(req.source_image());
    out["source_processing"] = "img2img";
  }
  int64_t expires = wall_ms() / 1000 + ctx.config.image_url_ttl_s();
  auto upload = ctx.public_url + ctx.urls.sign("/api/v2/r2/upload/" + image.to_string(), expires);
  out["r2_upload"] = upload;
  out["r2_uploads"] = json::array({upload});
  out["skipped"] = json::object();
  out["messages"] = json::array();
  return out;
}

// The worker's id when its owner has put it in maintenance.
std::optional<uint64_t> in_maintenance(gateway_context& ctx, uint64_t owner, const std::string& name) {
  auto txn = ctx.store->read();
  if (!txn)
    return std::nullopt;
  auto rec = persistence::worker_table::find(**txn, owner, name);
  if (!rec || !rec->has_value() || !(*rec)->maintenance())
    return std::nullopt;
  return (*rec)->id();
}

http_worker_actor worker_for(gateway_context& ctx, uint64_t owner, const std::string& name) {
  std::lock_guard lock{ctx.workers_mutex};
  auto key = std::make_pair(owner, name);
  auto it = ctx.http_workers.find(key);
  // A worker actor that ended (idle, or its join was refused) is replaced.
  if (it != ctx.http_workers.end()) {
    auto ptr = caf::actor_cast<caf::strong_actor_ptr>(it->second);
    if (ptr && !ptr->get()->getf(caf::abstract_actor::is_terminated_flag))
      return it->second;
  }
  http_worker_options o;
  o.scheduler = ctx.core.scheduler;
  auto w = ctx.system->spawn(http_worker_fn, std::move(o));
  ctx.http_workers[key] = w;
  return w;
}

void pop(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  auto who = authenticate_or_reply(ctx, req, r);
  if (!who)
    return;
  if (who->anonymous) {
    reply_error(r, 403, "the anonymous account cannot run workers", "AnonForbiddenWorker");
    return;
  }
  json body;
  if (!parse_body(ctx, req, r, body))
    return;
  v1::WorkerRegistration reg;
  field_errors errors;
  if (!body.is_object() || !parse_pop(body, who->user_id, reg, errors)) {
    reply_error(r, 400, "Input payload validation failed", "ValidationError", errors);
    return;
  }
  auto worker = worker_for(ctx, who->user_id, reg.name());
  uint64_t owner = who->user_id;
  ask(
      ctx, worker, ask_timeout,
      [&ctx, r, worker, owner, name = reg.name()](std::vector<pb<v1::TaskSpec>>& tasks) {
        if (tasks.empty()) {
          // A worker in maintenance still gets its owner's own jobs; with none, it is told why it gets
          // nothing (reGen looks for "maintenance mode").
          if (auto id = in_maintenance(ctx, owner, name)) {
            reply_error(r, 403,
                        "Worker " + name + " (" + std::to_string(*id) +
                            ") is in maintenance mode; its owner ends it with PUT /api/v2/workers/" +
                            std::to_string(*id) + " {\"maintenance\": false}",
                        "WorkerMaintenance");
            return;
          }
          reply_json(r, 200,
                     json{{"id", nullptr},
                          {"ids", json::array()},
                          {"payload", json::object()},
                          {"skipped", json::object()},
                          {"model", nullptr},
                          {"messages", json::array()}});
          return;
        }
        const auto& t = tasks.front().value;
        auto image = image_id(*uuid::from_bytes(t.job_id()), t.image_index());
        {
          std::lock_guard lock{ctx.handed_mutex};
          auto now = wall_ms();
          if (ctx.handed.size() > 100'000)
            std::erase_if(ctx.handed, [&](const auto& kv) { return now - kv.second.when_ms > 86'400'000; });
          ctx.handed[image] = {worker, owner, now};
        }
        reply_json(r, 200, pop_reply_json(ctx, t));
      },
      [r](const status& s) { reply_status_error(r, s); }, pop_atom::value, pb<v1::WorkerRegistration>{reg},
      uint32_t{1000});
}

// A worker's image, once its body is parsed (on a CAF thread: see submit).
void submit_parsed(gateway_context& ctx, const detail::principal& who, const std::string& text,
                   const reply_ptr& r) {
  json body;
  if (!parse_body(ctx, text, r, body))
    return;
  submit_input in;
  field_errors errors;
  if (!parse_submit(body, in, errors)) {
    reply_error(r, 400, "Input payload validation failed", "ValidationError", errors);
    return;
  }
  const auto& image = in.image;
  const auto& state = in.state;
  const auto& generation = in.generation;
  uint64_t seed = in.seed;
  handed_out where;
  {
    std::lock_guard lock{ctx.handed_mutex};
    auto it = ctx.handed.find(*image);
    if (it == ctx.handed.end()) {
      reply_error(r, 404, unknown_job_message(*image), "InvalidJobID");
      return;
    }
    where = it->second;
  }
  if (where.owner != who.user_id) {
    reply_error(r, 403, "this job belongs to another user's worker", "WrongCredentials");
    return;
  }
  v1::GenerationResult result;
  result.set_seed(seed);
  if (state != "faulted") {
    std::string bytes;
    if (generation == "R2") {
      std::optional<std::string> upload;
      {
        std::lock_guard lock{ctx.uploads_mutex};
        upload = ctx.uploads.take(*image, wall_ms());
      }
      if (!upload) {
        reply_error(r, 400, "no upload was received for this job (or it waited too long)", "BadRequest");
        return;
      }
      bytes = std::move(*upload);
    } else if (!decode_base64(generation, bytes)) {
      reply_error(r, 400, "generation is neither base64 nor \"R2\"", "BadRequest");
      return;
    }
    std::string format{models::image_format(bytes)};
    if (format.empty()) {
      reply_error(r, 400, "generation is not a PNG or WebP image", "BadRequest");
      return;
    }
    result.set_format(format);
    result.set_image(std::move(bytes));
  }
  ask(
      ctx, where.worker, ask_timeout,
      [r](int64_t reward_mk) {
        // The hand-out record stays (it ages out), so a second submit is told it is a duplicate.
        reply_json(r, 200, json{{"reward", static_cast<double>(reward_mk) / 1000.0}});
      },
      [r, image = *image](const status& s) {
        if (s.code() == errc::already_exists)
          reply_error(r, 400, "Processing Generation with ID " + image.to_string() + " already submitted.",
                      "DuplicateGen");
        else if (s.code() == errc::not_found)
          reply_error(r, 404, unknown_job_message(image), "InvalidJobID");
        else if (s.code() == errc::deadline_exceeded)
          reply_error(r, 400,
                      "Processing Generation with ID " + image.to_string() +
                          " took too long to process and has been aborted! Please check your worker speed.",
                      "AbortedGen");
        else
          reply_status_error(r, s);
      },
      result_atom::value, *image, pb<v1::GenerationResult>{std::move(result)});
}

// An image arrives as up to a few megabytes of base64 in JSON: parsing and decoding it takes milliseconds, so
// it runs on a CAF thread and the HTTP thread goes on serving everyone else (8 workers' submits used to queue
// behind each other there). The key is checked first, so only a worker's owner gets that far.
void submit(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  auto who = authenticate_or_reply(ctx, req, r, false);
  if (!who)
    return;
  uint64_t bytes = req.body.size();
  if (!off_http_thread(ctx, bytes, [who = *who, text = std::move(req.body), r](gateway_context& c) {
        // Off the HTTP server's own try/catch: a failure (say, out of memory) still answers, as the server
        // would.
        try {
          submit_parsed(c, who, text, r);
        } catch (const std::exception& e) {
          log::error("http_handler_failed").kv("path", "/api/v2/generate/submit").kv("error", e.what());
          reply_error(r, 500, "the server failed to answer this request", "InternalError");
        }
      }))
    reply_error(r, 503, "the server is parsing too many submissions now; try again", "Unavailable");
}

void list_workers(gateway_context& ctx, const reply_ptr& r, std::optional<uint64_t> one) {
  ask(
      ctx, ctx.core.scheduler, ask_timeout,
      [&ctx, r, one](worker_summaries& ws) {
        json list = json::array();
        auto txn = ctx.store->read();
        bool found = false;
        for (const auto& w : ws) {
          if (one && w.id != *one)
            continue;
          std::optional<v1::WorkerRecord> rec;
          if (txn)
            if (auto got = persistence::worker_table::get(**txn, w.id); got && got->has_value())
              rec = **got;
          auto j = worker_json(w, rec ? &*rec : nullptr, true);
          if (rec) {
            j["maintenance_mode"] = rec->maintenance();
            j["info"] = rec->info();
          }
          list.push_back(std::move(j));
          found = true;
        }
        if (one && !found && txn) {
          // Offline workers are still known to the store.
          if (auto got = persistence::worker_table::get(**txn, *one); got && got->has_value()) {
            worker_summary s;
            s.id = (*got)->id();
            s.name = (*got)->registration().name();
            s.owner = (*got)->registration().owner_user_id();
            for (const auto& m : (*got)->registration().models())
              s.models += (s.models.empty() ? "" : ",") + m.name();
            auto j = worker_json(s, &**got, false);
            j["maintenance_mode"] = (*got)->maintenance();
            j["info"] = (*got)->info();
            reply_json(r, 200, j);
            return;
          }
          reply_error(r, 404, "no such worker", "WorkerNotFound");
          return;
        }
        if (one)
          reply_json(r, 200, list.front());
        else
          reply_json(r, 200, list);
      },
      [r](const status& s) { reply_status_error(r, s); }, workers_atom::value);
}

void modify_worker(gateway_context& ctx, http_request& req, const reply_ptr& r, uint64_t id) {
  auto who = authenticate_or_reply(ctx, req, r, false);
  if (!who)
    return;
  json body;
  if (!parse_body(ctx, req, r, body))
    return;
  if (!body.is_object()) {
    reply_error(r, 400, "the body must be a JSON object", "BadRequest");
    return;
  }
  worker_changes changes;
  field_errors errors;
  if (!parse_worker_changes(body, changes, errors)) {
    if (errors.empty())
      reply_error(r, 400, "nothing to change", "NoWorkerModSelected");
    else
      reply_error(r, 400, "Input payload validation failed", "ValidationError", errors);
    return;
  }
  // The Scheduler owns the workers table: it checks the owner, commits, then answers (never a write here).
  v1::WorkerChanges edit;
  if (changes.maintenance)
    edit.set_maintenance(*changes.maintenance);
  if (changes.info)
    edit.set_info(*changes.info);
  ask(
      ctx, ctx.core.scheduler, ask_timeout,
      [r, edit](pb<v1::WorkerRecord>&) {
        json out;
        if (edit.has_maintenance())
          out["maintenance"] = edit.maintenance();
        if (edit.has_info())
          out["info"] = edit.info();
        reply_json(r, 200, out);
      },
      [r](const status& s) {
        if (s.code() == errc::not_found)
          reply_error(r, 404, s.message(), "WorkerNotFound");
        else if (s.code() == errc::permission_denied)
          reply_error(r, 403, s.message(), "WrongCredentials");
        else
          reply_status_error(r, s);
      },
      edit_atom::value, id, who->user_id, pb<v1::WorkerChanges>{edit});
}

}  // namespace

bool route_workers(gateway_context& ctx, http_request& req, const reply_ptr& r) {
  auto seg = segments(req.path);
  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v2")
    return false;
  if (seg.size() == 4 && seg[2] == "generate" && seg[3] == "pop" && req.method == "POST") {
    pop(ctx, req, r);
    return true;
  }
  if (seg.size() == 4 && seg[2] == "generate" && seg[3] == "submit" && req.method == "POST") {
    submit(ctx, req, r);
    return true;
  }
  if (seg[2] != "workers")
    return false;
  if (seg.size() == 3 && req.method == "GET") {
    list_workers(ctx, r, std::nullopt);
    return true;
  }
  if (seg.size() == 5 && seg[3] == "name" && req.method == "GET") {
    // Names are unique per owner; when several owners use one, an online worker is shown first. Read
    // through the name index, never a scan of every worker.
    std::optional<uint64_t> found;
    if (auto txn = ctx.store->read(); txn)
      if (auto ids = persistence::worker_table::ids_named(**txn, seg[4]); ids)
        for (auto id : *ids) {
          auto w = persistence::worker_table::get(**txn, id);
          if (!w || !w->has_value())
            continue;
          if (!found || (*w)->online())
            found = id;
          if ((*w)->online())
            break;
        }
    if (!found)
      reply_error(r, 404, "no worker is called '" + seg[4] + "'", "WorkerNotFound");
    else
      list_workers(ctx, r, *found);
    return true;
  }
  if (seg.size() == 4) {
    char* end = nullptr;
    uint64_t id = std::strtoull(seg[3].c_str(), &end, 10);
    if (seg[3].empty() || *end != '\0') {
      reply_error(r, 404, "no such worker", "WorkerNotFound");
      return true;
    }
    if (req.method == "GET") {
      list_workers(ctx, r, id);
      return true;
    }
    if (req.method == "PUT") {
      modify_worker(ctx, req, r, id);
      return true;
    }
  }
  return false;
}

}  // namespace crowdiff::gateway
