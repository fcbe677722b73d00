#include "crowdiff/client.hpp"

#include <map>
#include <set>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "network/network_setup.hpp"
#include "protocol/actor_system_setup.hpp"
#include "protocol/errors.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {
namespace {
// Inside `client`, `status` names the member function.
using status_t = crowdiff::status;
}  // namespace

struct client::impl {
  client_options options;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> system;
  std::unique_ptr<caf::scoped_actor> self;
  client_session_actor session;
  core_route route;  // where CAF connects: the core, or a TLS tunnel to it

  // One attempt: connect to the entrance and log in.
  status_t login() {
    bool caf_tls = options.tls && !options.certificate.empty();
    caf::expected<entrance_actor> entrance =
        caf_tls ? caf::openssl::remote_actor<entrance_actor>(*system, route.host, route.port)
                : system->middleman().remote_actor<entrance_actor>(route.host, route.port);
    if (!entrance)
      return status_t{errc::unavailable, "cannot reach the core at " + options.host + ":" +
                                             std::to_string(options.port) + ": " +
                                             system->render(entrance.error())};
    status_t outcome{errc::unavailable, "no answer to the login"};
    (*self)
        ->request(*entrance, options.request_timeout, client_login_atom::value, options.api_key,
                  caf::actor_cast<caf::actor>(*self))
        .receive(
            [&](client_session_actor& s) {
              session = std::move(s);
              (*self)->monitor(session);
              outcome = status_t::ok();
            },
            [&](caf::error& e) { outcome = to_status(e); });
    return outcome;
  }

  // Keeps trying (with backoff) until logged in, the key is refused, or reconnect_for has passed.
  status_t ensure_session() {
    if (session)
      return status_t::ok();
    auto deadline = std::chrono::steady_clock::now() + options.reconnect_for;
    auto backoff = std::chrono::milliseconds(50);
    for (;;) {
      auto s = login();
      if (s || s.code() == errc::unauthenticated || s.code() == errc::permission_denied)
        return s;
      if (std::chrono::steady_clock::now() + backoff > deadline)
        return s;
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }

  // A dead core answers nothing: CAF reports requests in flight when a connection drops as timeouts.
  static bool connection_lost(const status_t& s) {
    return s.code() == errc::unavailable || s.code() == errc::deadline_exceeded;
  }

  // Runs one request against the session, reconnecting once when the connection was lost.
  template <class... Ts, class OnValue>
  status_t call(OnValue on_value, Ts... xs) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      CROWDIFF_RETURN_IF_ERROR(ensure_session());
      status_t outcome;
      (*self)->request(session, options.request_timeout, xs...).receive(on_value, [&](caf::error& e) {
        outcome = to_status(e);
      });
      if (outcome || !connection_lost(outcome))
        return outcome;
      session = nullptr;
    }
    return status_t{errc::unavailable, "the connection to the core was lost"};
  }
};

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

client::~client() {
  if (!impl_ || !impl_->system)
    return;
  impl_->self.reset();
  impl_->session = nullptr;
  impl_->system.reset();
}

result<std::unique_ptr<client>> client::connect(client_options options) {
  auto p = std::make_unique<impl>();
  p->options = std::move(options);
  p->cfg = std::make_unique<caf::actor_system_config>();
  configure_actor_system(*p->cfg);
  v1::NetworkConfig net;
  net.set_tls(p->options.tls);
  net.set_tls_ca_file(p->options.ca_file);
  net.set_tls_certificate(p->options.certificate);
  net.set_tls_key(p->options.key);
  net.set_heartbeat_ms(1000);
  net.set_connection_timeout_ms(5000);
  configure_network(*p->cfg, net);
  p->cfg->set("logger.console", caf::atom("none"));
  p->cfg->set("scheduler.max-threads", 2);
  auto route = route_to_core(p->options.host, p->options.port, net);
  if (!route)
    return route.error();
  p->route = std::move(*route);
  p->system = std::make_unique<caf::actor_system>(*p->cfg);
  p->self = std::make_unique<caf::scoped_actor>(*p->system);
  if (auto s = p->ensure_session(); !s)
    return s;
  return std::unique_ptr<client>{new client(std::move(p))};
}

result<v1::SubmitReply> client::submit(v1::JobRequest request) {
  if (request.idempotency_key().empty())
    request.set_idempotency_key(uuid::random().to_string());
  v1::SubmitReply out;
  auto s = impl_->call([&](pb<v1::SubmitReply>& r) { out = std::move(r.value); }, submit_atom::value,
                       pb<v1::JobRequest>{request});
  if (!s)
    return s;
  return out;
}

result<v1::KudosQuote> client::quote(const v1::JobRequest& request) {
  v1::KudosQuote out;
  auto s = impl_->call([&](pb<v1::KudosQuote>& q) { out = std::move(q.value); }, quote_atom::value,
                       pb<v1::JobRequest>{request});
  if (!s)
    return s;
  return out;
}

result<v1::JobStatus> client::status(const uuid& job) {
  v1::JobStatus out;
  auto s = impl_->call([&](pb<v1::JobStatus>& st) { out = std::move(st.value); }, status_atom::value, job);
  if (!s)
    return s;
  return out;
}

result<v1::JobStatus> client::cancel(const uuid& job) {
  v1::JobStatus out;
  auto s = impl_->call([&](pb<v1::JobStatus>& st) { out = std::move(st.value); }, cancel_atom::value, job);
  if (!s)
    return s;
  return out;
}

result<v1::GenerationResult> client::fetch(const uuid& job, uint32_t index) {
  v1::GenerationResult out;
  auto s = impl_->call([&](pb<v1::GenerationResult>& r) { out = std::move(r.value); }, fetch_atom::value, job,
                       index);
  if (!s)
    return s;
  return out;
}

result<job_outcome> client::wait(const uuid& job, const job_event_fn& on_event,
                                 std::chrono::milliseconds limit) {
  auto all = wait_all({job}, on_event, limit);
  if (!all)
    return all.error();
  return std::move(all->front());
}

result<std::vector<job_outcome>> client::wait_all(const std::vector<uuid>& jobs, const job_event_fn& on_event,
                                                  std::chrono::milliseconds limit) {
  auto& p = *impl_;
  auto terminal = [](v1::JobState s) { return s == v1::DONE || s == v1::FAILED || s == v1::CANCELLED; };
  std::map<uuid, job_outcome> outcomes;
  std::map<uuid, std::map<uint32_t, v1::GenerationResult>> images;
  std::set<uuid> open;
  auto deadline = std::chrono::steady_clock::now() + limit;

  // (Re)subscribes to every job still open; called at the start and after every reconnect.
  auto subscribe_all = [&]() -> status_t {
    for (const auto& job : std::vector<uuid>(open.begin(), open.end())) {
      v1::JobStatus st;
      auto s = p.call([&](pb<v1::JobStatus>& r) { st = std::move(r.value); }, subscribe_atom::value, job,
                      caf::actor_cast<caf::actor>(*p.self));
      if (!s)
        return s;
      if (terminal(st.state())) {
        outcomes[job].status = st;
        open.erase(job);
      }
    }
    return status_t::ok();
  };
  for (const auto& j : jobs)
    open.insert(j);
  if (auto s = subscribe_all(); !s)
    return s;

  auto refreshed = std::chrono::steady_clock::now();
  while (!open.empty()) {
    if (std::chrono::steady_clock::now() > deadline)
      return status_t{errc::deadline_exceeded, std::to_string(open.size()) + " jobs have not finished"};
    bool lost = false;
    (*p.self)->receive(
        [&](event_atom, pb<v1::JobEvent>& ev) {
          auto id = uuid::from_bytes(ev.value.status().job_id());
          if (!id || outcomes.count(*id) != 0 || std::find(jobs.begin(), jobs.end(), *id) == jobs.end())
            return;
          if (on_event)
            on_event(ev.value);
          if (ev.value.kind() == v1::JobEvent::STATE && terminal(ev.value.status().state())) {
            outcomes[*id].status = ev.value.status();
            open.erase(*id);
          }
        },
        [&](image_atom, pb<v1::GenerationResult>& r) {
          auto id = uuid::from_bytes(r.value.job_id());
          if (id)
            images[*id].emplace(r.value.image_index(), std::move(r.value));
        },
        [&](caf::down_msg& msg) {
          if (p.session && msg.source == p.session.address())
            lost = true;
        },
        caf::after(std::chrono::milliseconds(1000)) >> [] {});
    if (lost) {
      p.session = nullptr;
      if (auto s = subscribe_all(); !s)
        return s;  // reconnects, then picks up where the jobs are now
    }
    if (on_event && std::chrono::steady_clock::now() - refreshed > std::chrono::seconds(1)) {
      refreshed = std::chrono::steady_clock::now();
      for (const auto& job : open) {
        auto st = status(job);
        if (!st)
          continue;
        v1::JobEvent ev;
        ev.set_kind(v1::JobEvent::STATE);
        *ev.mutable_status() = *st;
        on_event(ev);
      }
    }
  }

  // Images that arrived as events are in hand; any missed while reconnecting are fetched.
  std::vector<job_outcome> out;
  for (const auto& job : jobs) {
    auto& o = outcomes[job];
    auto& got = images[job];
    for (int i = 0; i < o.status.images_size(); ++i) {
      if (o.status.images(i).state() != v1::IMAGE_DONE)
        continue;
      auto index = static_cast<uint32_t>(i);
      if (got.count(index) == 0) {
        auto r = fetch(job, index);
        if (!r)
          return r.error();
        got.emplace(index, std::move(*r));
      }
    }
    for (auto& [index, image] : got)
      o.images.push_back(std::move(image));
    out.push_back(std::move(o));
  }
  return out;
}

result<v1::Balance> client::balance() {
  v1::Balance out;
  auto s = impl_->call([&](pb<v1::Balance>& b) { out = std::move(b.value); }, balance_atom::value);
  if (!s)
    return s;
  return out;
}

result<v1::LedgerEntry> client::transfer(const std::string& to, int64_t amount_mk,
                                         const std::string& idempotency_key) {
  v1::LedgerEntry out;
  std::string key = idempotency_key.empty() ? uuid::random().to_string() : idempotency_key;
  auto s = impl_->call([&](pb<v1::LedgerEntry>& e) { out = std::move(e.value); }, transfer_atom::value, to,
                       amount_mk, key);
  if (!s)
    return s;
  return out;
}

result<std::vector<worker_info>> client::workers() {
  std::vector<worker_info> out;
  auto s = impl_->call(
      [&](worker_summaries& ws) {
        for (auto& w : ws) {
          worker_info info;
          info.id = w.id;
          info.name = w.name;
          info.owner = w.owner;
          size_t start = 0;
          while (start < w.models.size()) {
            auto comma = w.models.find(',', start);
            info.models.push_back(w.models.substr(start, comma - start));
            if (comma == std::string::npos)
              break;
            start = comma + 1;
          }
          info.mps_per_s = w.mps_per_s;
          info.slots = w.slots;
          info.busy = w.busy;
          info.device = w.device;
          info.images_done = w.images_done;
          info.kudos_earned_mk = w.kudos_earned_mk;
          out.push_back(std::move(info));
        }
      },
      workers_atom::value);
  if (!s)
    return s;
  return out;
}

result<v1::LedgerEntry> client::grant(const std::string& user, int64_t amount_mk, const std::string& cause) {
  v1::LedgerEntry out;
  auto s = impl_->call([&](pb<v1::LedgerEntry>& e) { out = std::move(e.value); }, grant_atom::value, user,
                       amount_mk, cause);
  if (!s)
    return s;
  return out;
}

result<v1::LedgerAudit> client::audit() {
  v1::LedgerAudit out;
  auto s = impl_->call([&](pb<v1::LedgerAudit>& a) { out = std::move(a.value); }, audit_atom::value);
  if (!s)
    return s;
  return out;
}

result<std::pair<v1::UserRecord, std::string>> client::add_user(const std::string& name) {
  std::pair<v1::UserRecord, std::string> out;
  auto s = impl_->call(
      [&](pb<v1::UserRecord>& u, std::string& key) {
        out.first = std::move(u.value);
        out.second = std::move(key);
      },
      user_add_atom::value, name);
  if (!s)
    return s;
  return out;
}

}  // namespace crowdiff
