// The AI Horde v2 flows through the gateway of an in-process core, over loopback HTTP: what the Python
// conformance lane checks with horde-sdk, kept here so the gateway is tested without Python.
#include <set>
#include <string>

#include <boost/test/unit_test.hpp>

#include "common/version.hpp"
#include "gateway_core.hpp"

namespace {

using crowdiff::testing::gateway_core;
using crowdiff::testing::http_exchange;
using json = nlohmann::json;

constexpr const char* sd = "stable_diffusion";

bool is_uuid(const json& v) {
  return v.is_string() && crowdiff::uuid::parse(v.get<std::string>()).has_value();
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(gateway_flows, gateway_core)

BOOST_AUTO_TEST_CASE(heartbeat_errors_and_cors) {
  auto beat = call("GET", "/api/v2/status/heartbeat");
  BOOST_TEST(beat.status == 200u);
  // The version is CMake's project() version, in the heartbeat and in every response's Horde-Node header.
  BOOST_TEST(beat.json().at("version") == "crowdiff " + std::string(crowdiff::version()));
  BOOST_TEST(beat.header("horde-node") == "crowdiff:" + std::string(crowdiff::version()));
  BOOST_TEST(std::string(crowdiff::version()).find('.') != std::string::npos);
  BOOST_TEST(beat.header("access-control-allow-origin") == "*");
  auto missing = call("GET", "/api/v2/no/such/thing");
  BOOST_TEST(missing.status == 404u);
  BOOST_TEST(missing.header("content-type") == "application/json");
  BOOST_TEST(missing.json().at("rc") == "NotFound");
  auto preflight = http_exchange(gw->port(), "OPTIONS", "/api/v2/generate/async", {},
                                 {{"Origin", "https://x"}, {"Access-Control-Request-Headers", "apikey"}});
  BOOST_TEST(preflight.status == 204u);
  BOOST_TEST(preflight.header("access-control-allow-headers").find("apikey") != std::string::npos);
  auto bad_json = call("POST", "/api/v2/generate/async");
  BOOST_TEST(bad_json.status == 400u);
  BOOST_TEST(bad_json.json().at("rc") == "BadRequest");
}

// AI Horde's seed_variation: with n images, image i gets seed + i * seed_variation.
BOOST_AUTO_TEST_CASE(seed_variation_spaces_the_seeds_of_a_batch) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  BOOST_TEST(pop(owner.key, "w1", sd).at("id").is_null());  // checks in
  call_ok("POST", "/api/v2/generate/async",
          {{"prompt", "a lighthouse at dusk"},
           {"models", {sd}},
           {"params", {{"steps", 5}, {"n", 3}, {"seed", "100"}, {"seed_variation", 7}}}},
          requester.key, 202);
  std::set<std::string> seeds;
  for (int i = 0; i < 3; ++i) {
    auto job = pop_job(owner.key, "w1", sd);
    seeds.insert(job.at("payload").at("seed").get<std::string>());
    finish(owner.key, job);
  }
  BOOST_TEST((seeds == std::set<std::string>{"100", "107", "114"}));
}

BOOST_AUTO_TEST_CASE(request_pop_upload_submit_status) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  BOOST_TEST(pop(owner.key, "w1", sd).at("id").is_null());  // checks in
  auto id = generate(requester.key, sd);
  auto check = call_ok("GET", "/api/v2/generate/check/" + id, nullptr, {});
  BOOST_TEST(check.at("done") == false);
  BOOST_TEST(check.at("wait_time").is_number_integer());
  BOOST_TEST(check.at("queue_position").is_number_integer());

  auto job = pop_job(owner.key, "w1", sd);
  BOOST_TEST(is_uuid(job.at("id")));
  BOOST_TEST(job.at("ids") == json::array({job.at("id")}));
  BOOST_TEST(job.at("model") == sd);
  BOOST_TEST(job.at("payload").at("seed").is_string());
  BOOST_TEST(job.at("payload").at("ddim_steps") == 5);
  BOOST_TEST(job.at("r2_uploads").size() == 1u);
  auto ack = finish(owner.key, job);
  BOOST_TEST(ack.at("reward").get<double>() > 0);

  json status;
  for (int i = 0;
       i < 300 && !(status = call_ok("GET", "/api/v2/generate/status/" + id, nullptr, {})).at("done"); ++i)
    std::this_thread::yield();
  BOOST_REQUIRE(status.at("done") == true);
  BOOST_TEST(status.at("finished") == 1);
  BOOST_REQUIRE(status.at("generations").size() == 1u);
  const auto& g = status.at("generations").at(0);
  BOOST_TEST(g.at("seed") == "1312");
  BOOST_TEST(g.at("worker_name") == "w1");
  BOOST_TEST(g.at("id") == job.at("id"));
  auto link = g.at("img").get<std::string>();
  auto image = http_exchange(gw->port(), "GET", link.substr(link.find("/api/")));
  BOOST_TEST(image.status == 200u);
  BOOST_TEST(image.header("content-type") == "image/png");
  BOOST_TEST(image.body == png(job));
  auto tampered = http_exchange(gw->port(), "GET", link.substr(link.find("/api/")) + "0");
  BOOST_TEST(tampered.status == 403u);
}

BOOST_AUTO_TEST_CASE(dry_run_queues_nothing_and_cancel_ends_a_job) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  auto quote =
      call_ok("POST", "/api/v2/generate/async",
              {{"prompt", "x"}, {"models", {sd}}, {"dry_run", true}, {"params", {{"n", 2}}}}, requester.key);
  BOOST_TEST(!quote.contains("id"));
  BOOST_TEST(quote.at("kudos").get<double>() > 0);
  auto anon = call_ok("POST", "/api/v2/generate/async", {{"prompt", "anonymous"}, {"models", {sd}}},
                      "0000000000", 202);
  auto cancelled =
      call_ok("DELETE", "/api/v2/generate/status/" + anon.at("id").get<std::string>(), nullptr, {});
  BOOST_TEST(cancelled.at("done") == true);
  BOOST_TEST(cancelled.at("waiting") == 0);
  BOOST_TEST(pop(owner.key, "w1", sd).at("id").is_null());
}

BOOST_AUTO_TEST_CASE(a_fault_puts_the_image_back_for_another_worker) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  BOOST_TEST(pop(owner.key, "first", sd).at("id").is_null());
  auto id = generate(requester.key, sd);
  auto job = pop_job(owner.key, "first", sd);
  auto ack = call_ok("POST", "/api/v2/generate/submit",
                     {{"id", job.at("id")}, {"state", "faulted"}, {"generation", "Faulted"}, {"seed", 1}},
                     owner.key);
  BOOST_TEST(ack.at("reward") == 0);
  auto check = check_until(id, [](const json& c) { return c.at("restarted") == 1; });
  BOOST_TEST(check.at("done") == false);
  BOOST_TEST(check.at("waiting") == 1);
  auto again = pop_job(owner.key, "second", sd);
  BOOST_TEST(again.at("payload").at("seed") == job.at("payload").at("seed"));
  finish(owner.key, again);
  wait_all({*crowdiff::uuid::parse(id)});
}

BOOST_AUTO_TEST_CASE(submit_errors_speak_the_words_workers_match) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  auto other = add_user("other");
  BOOST_TEST(pop(owner.key, "w1", sd).at("id").is_null());
  generate(requester.key, sd);
  auto job = pop_job(owner.key, "w1", sd);
  auto wrong =
      call("POST", "/api/v2/generate/submit", {{"id", job.at("id")}, {"generation", "R2"}}, other.key);
  BOOST_TEST(wrong.status == 403u);
  BOOST_TEST(wrong.json().at("rc") == "WrongCredentials");
  finish(owner.key, job);
  auto dup =
      call("POST", "/api/v2/generate/submit",
           {{"id", job.at("id")}, {"state", "faulted"}, {"generation", "Faulted"}, {"seed", 1}}, owner.key);
  BOOST_TEST(dup.status == 400u);
  BOOST_TEST(dup.json().at("rc") == "DuplicateGen");
  BOOST_TEST(dup.json().at("message").get<std::string>().find("already submitted") != std::string::npos);
  auto unknown = call("POST", "/api/v2/generate/submit",
                      {{"id", crowdiff::uuid::random().to_string()}, {"generation", "R2"}}, owner.key);
  BOOST_TEST(unknown.status == 404u);
  BOOST_TEST(unknown.json().at("rc") == "InvalidJobID");
  auto message = unknown.json().at("message").get<std::string>();
  BOOST_TEST(message.find("Processing Job with ID") != std::string::npos);
  BOOST_TEST(message.find("does not exist") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(legacy_worker_reports_a_fault_with_seed_minus_one) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  BOOST_TEST(pop(owner.key, "legacy", sd).at("id").is_null());
  auto id = generate(requester.key, sd);
  auto job = pop_job(owner.key, "legacy", sd);
  auto ack = call_ok("POST", "/api/v2/generate/submit",
                     {{"id", job.at("id")}, {"state", "faulted"}, {"generation", "faulted"}, {"seed", -1}},
                     owner.key);
  BOOST_TEST(ack.at("reward") == 0);
  check_until(id, [](const json& c) { return c.at("restarted") == 1; });
  // A negative seed with an image is still wrong.
  auto bad = call("POST", "/api/v2/generate/submit",
                  {{"id", job.at("id")}, {"state", "ok"}, {"generation", "R2"}, {"seed", -1}}, owner.key);
  BOOST_TEST(bad.status == 400u);
  BOOST_TEST(bad.json().at("errors").contains("seed"));
}

BOOST_AUTO_TEST_CASE(a_worker_that_changes_its_models_is_served_for_the_new_ones) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  BOOST_TEST(pop(owner.key, "switcher", "model-a").at("id").is_null());
  BOOST_TEST(pop(owner.key, "switcher", "model-b").at("id").is_null());
  auto id = generate(requester.key, "model-b");
  auto job = pop_job(owner.key, "switcher", "model-b");
  BOOST_TEST(job.at("model") == "model-b");
  finish(owner.key, job);
  wait_all({*crowdiff::uuid::parse(id)});
}

BOOST_AUTO_TEST_CASE(sizes_are_multiples_of_64) {
  auto requester = add_user("requester", 100);
  auto a =
      call("POST", "/api/v2/generate/async",
           {{"prompt", "x"}, {"models", {sd}}, {"params", {{"width", 520}, {"height", 500}}}}, requester.key);
  BOOST_TEST(a.status == 400u);
  auto err = a.json();
  BOOST_TEST(err.at("rc") == "ValidationError");
  BOOST_TEST(err.at("errors").at("params.width") == "must be a multiple of 64");
  BOOST_TEST(err.at("errors").contains("params.height"));
}

BOOST_AUTO_TEST_CASE(workers_list_integers_where_clients_expect_them) {
  auto requester = add_user("requester", 100);
  auto owner = add_user("owner");
  BOOST_TEST(pop(owner.key, "w1", sd).at("id").is_null());
  auto id = generate(requester.key, sd);
  finish(owner.key, pop_job(owner.key, "w1", sd));
  wait_all({*crowdiff::uuid::parse(id)});
  // The Scheduler writes the worker's statistics once the Broker has settled the image: they follow it.
  json w;
  auto deadline = std::chrono::steady_clock::now() + crowdiff::testing::patience;
  do {
    auto list = call_ok("GET", "/api/v2/workers", nullptr, {});
    BOOST_REQUIRE(list.size() == 1u);
    w = list.at(0);
  } while (w.at("requests_fulfilled") != 1 && std::chrono::steady_clock::now() < deadline);
  BOOST_TEST(w.at("type") == "image");
  BOOST_TEST(w.at("megapixelsteps_generated").is_number_integer());
  BOOST_TEST(w.at("requests_fulfilled") == 1);
  BOOST_TEST(w.at("maintenance_mode") == false);
}

BOOST_AUTO_TEST_CASE(maintenance_refuses_pops_and_workers_are_found_by_name) {
  auto owner = add_user("owner");
  BOOST_TEST(pop(owner.key, "resting", sd).at("id").is_null());
  auto found = call_ok("GET", "/api/v2/workers/name/resting", nullptr, {});
  BOOST_TEST(found.at("name") == "resting");
  auto id = found.at("id").get<std::string>();
  call_ok("PUT", "/api/v2/workers/" + id, {{"maintenance", true}}, owner.key);
  auto refused = call("POST", "/api/v2/generate/pop", {{"name", "resting"}, {"models", {sd}}}, owner.key);
  BOOST_TEST(refused.status == 403u);
  BOOST_TEST(refused.json().at("rc") == "WorkerMaintenance");
  BOOST_TEST(refused.json().at("message").get<std::string>().find("maintenance mode") != std::string::npos);
  call_ok("PUT", "/api/v2/workers/" + id, {{"maintenance", false}}, owner.key);
  BOOST_TEST(pop(owner.key, "resting", sd).at("id").is_null());
  // The Scheduler owns the workers table: it checks the owner and answers once the edit is committed.
  auto stranger = add_user("stranger");
  auto refused_edit = call("PUT", "/api/v2/workers/" + id, {{"info", "mine now"}}, stranger.key);
  BOOST_TEST(refused_edit.status == 403u);
  BOOST_TEST(refused_edit.json().at("rc") == "WrongCredentials");
  BOOST_TEST(call("PUT", "/api/v2/workers/999999", {{"info", "x"}}, owner.key).status == 404u);
  call_ok("PUT", "/api/v2/workers/" + id, {{"info", "a quiet GPU"}}, owner.key);
  BOOST_TEST(call_ok("GET", "/api/v2/workers/" + id, nullptr, {}).at("info") == "a quiet GPU");
  BOOST_TEST(call("GET", "/api/v2/workers/name/nobody").status == 404u);
}

BOOST_AUTO_TEST_CASE(kudos_transfer_moves_kudos_once) {
  auto giver = add_user("giver", 50);
  auto taker = add_user("taker");
  auto body = json{{"username", "taker#" + std::to_string(taker.id)}, {"amount", 10}};
  for (int i = 0; i < 2; ++i) {
    auto a = http_exchange(
        gw->port(), "POST", "/api/v2/kudos/transfer", body.dump(),
        {{"apikey", giver.key}, {"Idempotency-Key", "once"}, {"Content-Type", "application/json"}});
    BOOST_TEST(a.status == 200u);
    BOOST_TEST(a.json().at("transferred") == 10.0);
  }
  BOOST_TEST(balance_mk(giver.key) == 40'000);
  BOOST_TEST(balance_mk(taker.key) == 10'000);
  auto to_self = call("POST", "/api/v2/kudos/transfer",
                      {{"username", "giver#" + std::to_string(giver.id)}, {"amount", 1}}, giver.key);
  BOOST_TEST(to_self.status == 400u);
  BOOST_TEST(to_self.json().at("rc") == "KudosTransferToSelf");
}

BOOST_AUTO_TEST_SUITE_END()
