#include "gateway/webhook_watch.hpp"

#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "gateway/bounded_json.hpp"
#include "gateway/horde_json.hpp"
#include "persistence/job_table.hpp"
#include "persistence/webhook_table.hpp"

namespace crowdiff::gateway {
namespace {

using json = nlohmann::json;

constexpr auto subscribe_timeout = std::chrono::seconds(30);
constexpr auto stop_patience = std::chrono::seconds(10);

bool terminal(v1::JobState s) {
  return s == v1::DONE || s == v1::FAILED || s == v1::CANCELLED;
}

// The job's end as the `done` body names it (AI Horde's words: "faulted" for failed).
const char* end_name(v1::JobState s) {
  switch (s) {
    case v1::DONE:
      return "done";
    case v1::FAILED:
      return "faulted";
    case v1::CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

json image_body(const uuid& job, uint32_t index, const std::string& link, const v1::JobStatus& st) {
  json body;
  body["event"] = "image";
  body["request_id"] = job.to_string();
  body["image"] = index;
  body["id"] = image_id(job, index).to_string();
  body["img"] = link;
  body["status"] = check_json(st, wall_ms());
  return body;
}

json done_body(const uuid& job, const v1::JobStatus& st) {
  json body;
  body["event"] = "done";
  body["request_id"] = job.to_string();
  body["state"] = end_name(st.state());
  if (st.state() == v1::FAILED && !st.failure_reason().empty())
    body["message"] = st.failure_reason();
  body["status"] = check_json(st, wall_ms());
  return body;
}

// Tells the Broker (the only writer of webhooks_owed) whether `job` is still owed its `done`.
void record_owed(const broker_actor& broker, const uuid& job, bool owed) {
  caf::anon_send(broker, owed_atom_v, job, owed);
}

}  // namespace

webhook_watchers::webhook_watchers(caf::actor_system& system, broker_actor broker, webhook_sender& sender,
                                   image_link_fn image_link, persistence::store* store)
    : system_(system),
      broker_(std::move(broker)),
      sender_(sender),
      image_link_(std::move(image_link)),
      store_(store) {}

webhook_watchers::~webhook_watchers() {
  stop();
}

void webhook_watchers::watch(const uuid& job, const webhook_url& url) {
  {
    std::lock_guard lock{mutex_};
    if (stopped_ || followers_.count(job) != 0)
      return;
  }
  // The Broker recorded the job as owed when it accepted it; this covers jobs accepted before it did so (an
  // older store). In the Broker's mailbox before the follower exists, so it commits before anything could
  // clear it (the Broker's writes commit in order).
  record_owed(broker_, job, true);
  follow(job, url);
}

void webhook_watchers::follow(const uuid& job, const webhook_url& url) {
  // A follower touches `this` (sender_, image_link_, forget) only from its handlers, and stop() waits until
  // every follower it finds is gone; one that has left the map already makes no further use of `this`.
  auto follower = [this](caf::event_based_actor* self, uuid id, webhook_url to) -> caf::behavior {
    auto dump = [](const json& body) { return write_json(body); };
    auto post = [this, to, dump](const json& body) { sender_.send(to, dump(body)); };
    // The `done` is no longer owed once delivered or given up on (the sender's thread runs this; the handle
    // is a copy).
    auto post_done = [this, to, dump, id](const json& body) {
      sender_.send(to, dump(body), [broker = broker_, id] { record_owed(broker, id, false); });
    };
    auto end = [this, self, id] {
      forget(id);
      self->quit();
    };
    // A broker that goes away takes its subscriptions with it.
    self->monitor(broker_);
    self->set_down_handler([end](caf::down_msg&) { end(); });
    self->request(broker_, subscribe_timeout, subscribe_atom_v, id, caf::actor_cast<caf::actor>(self))
        .then(
            [this, id, post, post_done, end](pb<v1::JobStatus>& reply) {
              // What happened before the subscription: images already done, or the whole job.
              const auto& st = reply.value;
              for (int i = 0; i < st.images_size(); ++i)
                if (st.images(i).state() == v1::IMAGE_DONE) {
                  auto index = static_cast<uint32_t>(i);
                  post(image_body(id, index, image_link_(id, index), st));
                }
              if (terminal(st.state())) {
                post_done(done_body(id, st));
                end();
              }
            },
            [id, end](const caf::error& e) {
              log::warning("webhook_watch_failed").kv("job", id.to_string()).kv("error", to_string(e));
              end();
            });
    return {
        [this, id, post, post_done, end](event_atom, pb<v1::JobEvent>& ev) {
          const auto& e = ev.value;
          if (e.kind() == v1::JobEvent::IMAGE) {
            post(image_body(id, e.image_index(), image_link_(id, e.image_index()), e.status()));
          } else if (e.kind() == v1::JobEvent::STATE && terminal(e.status().state())) {
            post_done(done_body(id, e.status()));
            end();
          }
        },
        [](image_atom, pb<v1::GenerationResult>&) {},
    };
  };
  std::lock_guard lock{mutex_};
  if (stopped_ || followers_.count(job) != 0)
    return;
  followers_.emplace(job, system_.spawn(follower, job, url));
}

result<size_t> webhook_watchers::rearm(bool allow_http) {
  if (!store_)
    return size_t{0};
  std::map<uuid, std::string> found;  // job -> its webhook
  std::vector<uuid> gone;             // owed, but the job or its webhook is no longer there
  {
    auto txn = store_->read();
    if (!txn)
      return txn.error();
    auto skip = persistence::log_and_skip("webhook_rearm");
    for (auto state : {v1::QUEUED, v1::RUNNING}) {
      // A job that cannot be decoded is skipped (the Broker's recovery moves it aside); the rest are rearmed.
      auto s = persistence::job_table::scan_state(
          **txn, state,
          [&](v1::JobRecord& r) {
            auto id = uuid::from_bytes(r.id());
            if (id && !r.request().webhook().empty())
              found.emplace(*id, r.request().webhook());
            return true;
          },
          skip);
      if (!s)
        return s;
    }
    std::vector<uuid> owed;
    auto s = persistence::webhook_table::scan(
        **txn,
        [&](const uuid& id) {
          owed.push_back(id);
          return true;
        },
        skip);
    if (!s)
      return s;
    for (const auto& id : owed) {
      auto job = persistence::job_table::get(**txn, id);
      if (!job && job.error().code() == errc::corruption) {
        skip(persistence::bad_record{
            persistence::table::jobs, id.to_bytes(), {}, job.error().to_string(), {}});
        continue;
      }
      if (!job)
        return job.error();
      if (*job && !(*job)->request().webhook().empty())
        found.emplace(id, (*job)->request().webhook());
      else
        gone.push_back(id);
    }
  }
  for (const auto& id : gone)
    record_owed(broker_, id, false);
  size_t armed = 0;
  for (const auto& [id, text] : found) {
    auto url = parse_webhook_url(text);
    std::string why;
    if (!url)
      why = url.error().message();
    else if (!url->tls && !allow_http)
      why = "plain http webhooks are off (gateway.webhook_http_loopback)";
    if (!why.empty()) {
      log::warning("webhook_not_rearmed").kv("job", id.to_string()).kv("error", why);
      record_owed(broker_, id, false);
      continue;
    }
    watch(id, *url);
    ++armed;
  }
  if (armed > 0)
    log::info("webhooks_rearmed").kv("jobs", armed);
  return armed;
}

void webhook_watchers::stop() {
  std::map<uuid, caf::actor> all;
  {
    std::lock_guard lock{mutex_};
    if (stopped_)
      return;
    stopped_ = true;
    all.swap(followers_);
  }
  if (all.empty())
    return;
  caf::scoped_actor waiter{system_};
  for (const auto& [id, a] : all) {
    waiter->monitor(a);
    waiter->send_exit(a, caf::exit_reason::user_shutdown);
  }
  size_t left = all.size();
  bool gave_up = false;
  while (left > 0 && !gave_up)
    waiter->receive([&](const caf::down_msg&) { --left; },
                    caf::after(stop_patience) >> [&] { gave_up = true; });
  if (gave_up)
    log::error("webhook_watchers_stuck").kv("left", left);
}

size_t webhook_watchers::watching() const {
  std::lock_guard lock{mutex_};
  return followers_.size();
}

void webhook_watchers::forget(const uuid& job) {
  std::lock_guard lock{mutex_};
  followers_.erase(job);
}

}  // namespace crowdiff::gateway
