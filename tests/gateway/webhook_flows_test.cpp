// Webhooks end to end: a request with `webhook` through the gateway of an in-process core, a fake worker that
// finishes it, and webhook_receiver on loopback that records what the gateway POSTs; retries, refused URLs,
// cancellation, a restart of the whole core, a `done` still owed at a stop, and a job that ended before it
// was watched.
#include <set>

#include <boost/test/unit_test.hpp>

#include "gateway/webhook_watch.hpp"
#include "gateway/webhooks.hpp"
#include "gateway_core.hpp"
#include "persistence/job_table.hpp"
#include "persistence/webhook_table.hpp"
#include "webhook_receiver.hpp"

namespace {

using crowdiff::testing::fake_generator;
using crowdiff::testing::gateway_core;
using crowdiff::testing::http_exchange;
using crowdiff::testing::webhook_receiver;
using json = nlohmann::json;
using requests = std::vector<webhook_receiver::request>;

constexpr const char* sd = "stable_diffusion";

size_t count_event(const requests& got, const std::string& event, unsigned answered = 0) {
  size_t n = 0;
  for (const auto& r : got) {
    auto body = json::parse(r.body, nullptr, false);
    if (!body.is_discarded() && body.value("event", "") == event && (answered == 0 || r.answered == answered))
      ++n;
  }
  return n;
}

/// How many of `got` are for `request_id`.
size_t count_for(const requests& got, const std::string& request_id) {
  size_t n = 0;
  for (const auto& r : got) {
    auto body = json::parse(r.body, nullptr, false);
    if (body.is_object() && body.value("request_id", "") == request_id)
      ++n;
  }
  return n;
}

/// Every request's body as JSON (each must be a JSON object naming its request).
std::vector<json> bodies(const webhook_receiver& receiver, const std::string& request_id) {
  std::vector<json> out;
  for (const auto& r : receiver.requests()) {
    BOOST_TEST(r.method == "POST");
    BOOST_TEST(r.target == "/hook");
    BOOST_TEST(r.content_type == "application/json");
    auto body = json::parse(r.body, nullptr, false);
    BOOST_REQUIRE_MESSAGE(body.is_object(), "not a JSON object: " + r.body);
    BOOST_TEST(body.at("request_id") == request_id);
    out.push_back(std::move(body));
  }
  return out;
}

struct webhook_core : gateway_core {
  /// Submits a request for `n` images that calls `hook`; returns its id.
  std::string submit_with_hook(const std::string& key, const std::string& hook, int n = 1) {
    auto j = call_ok("POST", "/api/v2/generate/async",
                     {{"prompt", "a lighthouse at dusk"},
                      {"models", {sd}},
                      {"params", {{"steps", 5}, {"n", n}}},
                      {"webhook", hook}},
                     key, 202);
    return j.at("id").get<std::string>();
  }

  /// Jobs the store holds as accepted and unfinished.
  size_t active_jobs() {
    auto txn = store->read();
    BOOST_REQUIRE(txn.has_value());
    size_t n = 0;
    for (auto state : {crowdiff::v1::QUEUED, crowdiff::v1::RUNNING})
      BOOST_REQUIRE(crowdiff::persistence::job_table::scan_state(**txn, state, [&](crowdiff::v1::JobRecord&) {
        ++n;
        return true;
      }));
    return n;
  }

  /// Jobs the store records as owed their webhook's `done`.
  size_t owed_webhooks() {
    auto txn = store->read();
    BOOST_REQUIRE(txn.has_value());
    size_t n = 0;
    BOOST_REQUIRE(crowdiff::persistence::webhook_table::scan(**txn, [&](const crowdiff::uuid&) {
      ++n;
      return true;
    }));
    return n;
  }

  /// Waits (bounded) until `n` jobs are owed their `done` (the records are written behind the requests).
  bool owed_webhooks_become(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + crowdiff::testing::patience;
    while (std::chrono::steady_clock::now() < deadline) {
      if (owed_webhooks() == n)
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

  /// Fetches an image link from a webhook body through the gateway; its HTTP status.
  unsigned fetch_image(const std::string& link) {
    return http_exchange(gw->port(), "GET", link.substr(link.find("/api/"))).status;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(webhook_flows, webhook_core)

BOOST_AUTO_TEST_CASE(each_image_and_the_end_are_posted) {
  webhook_receiver receiver;
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  add_worker("w1", owner.id, std::make_shared<fake_generator>());
  auto id = submit_with_hook(requester.key, receiver.url(), 2);
  BOOST_REQUIRE(receiver.wait_until(
      [](const requests& got) { return count_event(got, "image") == 2 && count_event(got, "done") == 1; }));
  auto got = bodies(receiver, id);
  BOOST_REQUIRE_EQUAL(got.size(), 3u);
  std::set<std::string> image_ids;
  std::set<int> indexes;
  for (const auto& b : got) {
    BOOST_TEST(b.at("status").is_object());
    if (b.at("event") == "image") {
      image_ids.insert(b.at("id").get<std::string>());
      indexes.insert(b.at("image").get<int>());
      BOOST_TEST(fetch_image(b.at("img").get<std::string>()) == 200u);
    } else {
      BOOST_TEST(b.at("state") == "done");
      BOOST_TEST(b.at("status").at("done") == true);
      BOOST_TEST(b.at("status").at("faulted") == false);
      BOOST_TEST(b.at("status").at("finished") == 2);
    }
  }
  BOOST_TEST((indexes == std::set<int>{0, 1}));
  // The ids are the generations' ids, as the status shows them.
  auto status = call_ok("GET", "/api/v2/generate/status/" + id, nullptr, {});
  std::set<std::string> generation_ids;
  for (const auto& g : status.at("generations"))
    generation_ids.insert(g.at("id").get<std::string>());
  BOOST_TEST((image_ids == generation_ids));
}

BOOST_AUTO_TEST_CASE(a_failing_receiver_gets_the_same_body_again) {
  config.mutable_gateway()->set_webhook_attempts(4);
  config.mutable_gateway()->set_webhook_backoff_ms(10);
  stop_gateway();
  start_gateway();
  webhook_receiver receiver(webhook_receiver::failing_first(2));
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  add_worker("w1", owner.id, std::make_shared<fake_generator>());
  auto id = submit_with_hook(requester.key, receiver.url());
  BOOST_REQUIRE(receiver.wait_until([](const requests& got) {
    return count_event(got, "image", 200) == 1 && count_event(got, "done", 200) == 1;
  }));
  auto got = receiver.requests();
  bodies(receiver, id);
  BOOST_TEST(got.size() == 4u);
  std::set<std::string> delivered;
  for (const auto& r : got)
    if (r.answered == 200)
      BOOST_TEST(delivered.insert(r.body).second);  // each body is delivered once
  for (const auto& r : got)
    if (r.answered == 500)
      BOOST_TEST(delivered.count(r.body) == 1u, "a refused body was never sent again: " + r.body);
}

BOOST_AUTO_TEST_CASE(bad_webhook_urls_are_refused_and_queue_nothing) {
  auto requester = add_user("requester", 100);
  auto balance = balance_mk(requester.key);
  const std::pair<json, std::string> cases[] = {{"ftp://127.0.0.1/hook", "https://"},
                                                {"not a url", "spaces"},
                                                {"http://example.com/hook", "plain http:// only"},
                                                {"http://127.0.0.1.example.com/hook", "plain http:// only"},
                                                {"http://localhost@example.com/hook", "user name"},
                                                {"https://", "no host"},
                                                {"https://example.com:99999/", "invalid port"},
                                                {42, "must be a string"}};
  for (const auto& [hook, says] : cases) {
    BOOST_TEST_CONTEXT(hook.dump()) {
      auto a = call("POST", "/api/v2/generate/async", {{"prompt", "x"}, {"models", {sd}}, {"webhook", hook}},
                    requester.key);
      BOOST_TEST(a.status == 400u);
      auto err = a.json();
      BOOST_REQUIRE(err.is_object());
      BOOST_TEST(err.at("rc") == "ValidationError");
      auto message = err.at("errors").at("webhook").get<std::string>();
      BOOST_TEST(message.find(says) != std::string::npos, message);
    }
  }
  BOOST_TEST(active_jobs() == 0u);
  BOOST_TEST(balance_mk(requester.key) == balance);
}

// Plain http webhooks (to this machine) only where the operator allows them: otherwise any requester could
// make the gateway POST to local services.
BOOST_AUTO_TEST_CASE(plain_http_webhooks_are_refused_unless_allowed) {
  stop_gateway();
  config.mutable_gateway()->set_webhook_http_loopback(false);
  start_gateway();
  auto requester = add_user("requester", 100);
  auto balance = balance_mk(requester.key);
  auto a = call("POST", "/api/v2/generate/async",
                {{"prompt", "x"}, {"models", {sd}}, {"webhook", "http://127.0.0.1:9/hook"}}, requester.key);
  BOOST_TEST(a.status == 400u);
  auto err = a.json();
  BOOST_REQUIRE(err.is_object());
  BOOST_TEST(err.at("errors").at("webhook").get<std::string>().find("use https") != std::string::npos);
  BOOST_TEST(active_jobs() == 0u);
  BOOST_TEST(balance_mk(requester.key) == balance);
}

// Resubmitting with the same idempotency key (a client retrying a lost answer) is the same job: its
// webhook is not followed twice, so its receiver gets each body once.
BOOST_AUTO_TEST_CASE(a_resubmission_does_not_post_again) {
  webhook_receiver receiver;
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  add_worker("w1", owner.id, std::make_shared<fake_generator>());
  const json body{{"prompt", "a lighthouse at dusk"},
                  {"models", {sd}},
                  {"params", {{"steps", 5}, {"n", 1}}},
                  {"webhook", receiver.url()}};
  const std::map<std::string, std::string> headers{{"apikey", requester.key}, {"Idempotency-Key", "retry-1"}};
  auto first = http_exchange(gw->port(), "POST", "/api/v2/generate/async", body.dump(), headers);
  BOOST_REQUIRE_EQUAL(first.status, 202u);
  const std::string id = first.json().at("id").get<std::string>();
  BOOST_REQUIRE(receiver.wait_until([&](const requests& got) { return count_for(got, id) == 2u; }));
  auto again = http_exchange(gw->port(), "POST", "/api/v2/generate/async", body.dump(), headers);
  BOOST_REQUIRE_EQUAL(again.status, 202u);
  BOOST_TEST(again.json().at("id") == id);
  // A fresh job to the same receiver ends after anything the resubmission could have caused.
  const std::string other = submit_with_hook(requester.key, receiver.url());
  BOOST_REQUIRE(receiver.wait_until([&](const requests& got) { return count_for(got, other) == 2u; }));
  BOOST_TEST(count_for(receiver.requests(), id) == 2u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_job_posts_done_with_its_state) {
  webhook_receiver receiver;
  auto requester = add_user("requester", 100);
  auto id = submit_with_hook(requester.key, receiver.url(), 2);
  call_ok("DELETE", "/api/v2/generate/status/" + id, nullptr, {});
  BOOST_REQUIRE(receiver.wait_until([](const requests& got) { return count_event(got, "done") == 1; }));
  auto got = bodies(receiver, id);
  BOOST_REQUIRE_EQUAL(got.size(), 1u);
  BOOST_TEST(got[0].at("state") == "cancelled");
  BOOST_TEST(got[0].at("status").at("done") == true);
  BOOST_TEST(got[0].at("status").at("finished") == 0);
}

BOOST_AUTO_TEST_CASE(webhooks_are_rearmed_after_a_restart) {
  webhook_receiver receiver;
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  auto id = submit_with_hook(requester.key, receiver.url());
  restart_all();
  BOOST_TEST(receiver.requests().empty());
  // Finished by a worker that joins the new core.
  add_worker("w1", owner.id, std::make_shared<fake_generator>());
  BOOST_REQUIRE(receiver.wait_until(
      [](const requests& got) { return count_event(got, "image") == 1 && count_event(got, "done") == 1; }));
  auto got = bodies(receiver, id);
  BOOST_TEST(got.size() == 2u);
  for (const auto& b : got) {
    if (b.at("event") == "image")
      BOOST_TEST(fetch_image(b.at("img").get<std::string>()) == 200u);
    else
      BOOST_TEST(b.at("state") == "done");
  }
}

BOOST_AUTO_TEST_CASE(a_done_still_owed_at_a_stop_is_posted_after_the_restart) {
  config.mutable_gateway()->set_webhook_attempts(5);
  config.mutable_gateway()->set_webhook_backoff_ms(300'000);  // no retry before the stop
  stop_gateway();
  start_gateway();
  webhook_receiver receiver;
  receiver.refuse_all(true);
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  add_worker("w1", owner.id, std::make_shared<fake_generator>());
  auto id = submit_with_hook(requester.key, receiver.url());
  BOOST_REQUIRE(receiver.wait_until([](const requests& got) { return count_event(got, "done", 500) == 1; }));
  BOOST_REQUIRE(owed_webhooks_become(1));
  // The stop's last tries are refused too: the `done` is still owed, in the store.
  stop_gateway();
  BOOST_TEST(count_event(receiver.requests(), "done", 200) == 0u);
  BOOST_TEST(owed_webhooks() == 1u);
  receiver.refuse_all(false);
  restart();
  start_gateway();
  BOOST_REQUIRE(receiver.wait_until([](const requests& got) {
    return count_event(got, "image", 200) == 1 && count_event(got, "done", 200) == 1;
  }));
  for (const auto& b : bodies(receiver, id))
    if (b.at("event") == "done")
      BOOST_TEST(b.at("state") == "done");
  BOOST_TEST(owed_webhooks_become(0));
}

BOOST_AUTO_TEST_CASE(a_delivered_done_is_not_owed_and_owed_jobs_that_are_gone_are_dropped) {
  webhook_receiver receiver;
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  add_worker("w1", owner.id, std::make_shared<fake_generator>());
  submit_with_hook(requester.key, receiver.url());
  BOOST_REQUIRE(receiver.wait_until([](const requests& got) { return count_event(got, "done", 200) == 1; }));
  BOOST_REQUIRE(owed_webhooks_become(0));
  // A job the store no longer holds (its record was removed by hand) is owed nothing.
  BOOST_REQUIRE(store->write_sync([](crowdiff::persistence::write_txn& txn) {
    return crowdiff::persistence::webhook_table::owe(txn, crowdiff::uuid::random());
  }));
  restart_all();
  auto sender = crowdiff::gateway::webhook_sender::start({});
  BOOST_REQUIRE(sender.has_value());
  crowdiff::gateway::webhook_watchers watchers(
      *system, core.broker, **sender, [](const crowdiff::uuid&, uint32_t) { return std::string{}; },
      store.get());
  auto armed = watchers.rearm(true);
  BOOST_REQUIRE(armed.has_value());
  BOOST_TEST(*armed == 0u);
  BOOST_TEST(owed_webhooks_become(0));
  BOOST_TEST(receiver.requests().size() == 2u);  // the image and the done, once each
  watchers.stop();
  (*sender)->stop();
}

BOOST_AUTO_TEST_CASE(a_job_that_ended_before_it_was_watched_gets_its_posts_at_once) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  add_worker("w1", owner.id, std::make_shared<fake_generator>());
  auto job = *crowdiff::uuid::parse(generate(requester.key, sd, 2));
  wait_all({job});
  // Watched only now (a submit answered after the job ended, or a job that ended while being re-armed).
  webhook_receiver receiver;
  auto sender = crowdiff::gateway::webhook_sender::start({});
  BOOST_REQUIRE(sender.has_value());
  crowdiff::gateway::webhook_watchers watchers(
      *system, core.broker, **sender,
      [](const crowdiff::uuid&, uint32_t i) { return "https://images.example/" + std::to_string(i); });
  watchers.watch(job, *crowdiff::gateway::parse_webhook_url(receiver.url()));
  BOOST_REQUIRE(receiver.wait_until(
      [](const requests& got) { return count_event(got, "image") == 2 && count_event(got, "done") == 1; }));
  auto got = bodies(receiver, job.to_string());
  BOOST_TEST(got.size() == 3u);
  // The follower has gone: it does not wait for events that will never come.
  auto deadline = std::chrono::steady_clock::now() + crowdiff::testing::patience;
  while (watchers.watching() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  BOOST_TEST(watchers.watching() == 0u);
  watchers.stop();
  (*sender)->stop();
}

BOOST_AUTO_TEST_SUITE_END()
