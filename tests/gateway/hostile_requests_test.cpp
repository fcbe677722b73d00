// What broke when the gateway was tried as a hostile stranger would, each now a regression test through the
// whole gateway and core: the answer is a clear error, the core stays up, nothing bad is stored.

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include <boost/test/unit_test.hpp>

#include "common/api_key.hpp"
#include "common/utf8.hpp"
#include "gateway_core.hpp"
#include "persistence/job_table.hpp"
#include "raw_connection.hpp"

using namespace crowdiff;
using namespace crowdiff::testing;
using json = nlohmann::json;

namespace {

const std::string sd = "stable_diffusion";

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hostile_requests, gateway_core)

BOOST_AUTO_TEST_CASE(paths_that_are_not_utf8_get_a_400_and_the_core_stays_up) {
  for (const char* path : {"/%ff", "/api/v2/workers/name/%ff", "/api/v2/generate/check/%c3%28"}) {
    raw_connection c(gw->port());
    c.send(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto answer = c.read_response();
    BOOST_TEST(raw_connection::status_of(answer) == 400u, path);
  }
  // A path that is UTF-8 but unknown is echoed in a 404 that is valid JSON.
  auto euro = call("GET", "/api/v2/nothing/%e2%82%ac");
  BOOST_TEST(euro.status == 404u);
  BOOST_TEST(!euro.json().is_discarded());
  BOOST_TEST(call("GET", "/api/v2/status/heartbeat").status == 200u);
}

BOOST_AUTO_TEST_CASE(deeply_nested_bodies_are_refused_without_recursion) {
  auto requester = add_user("requester", 100);
  std::string deep =
      R"({"prompt":"x","params":)" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  auto a = http_exchange(gw->port(), "POST", "/api/v2/generate/async", deep, {{"apikey", requester.key}});
  BOOST_TEST(a.status == 400u);
  BOOST_TEST(a.json().at("message").get<std::string>().find("nested deeper") != std::string::npos);
  BOOST_TEST(call("GET", "/api/v2/status/heartbeat").status == 200u);
}

BOOST_AUTO_TEST_CASE(headers_that_are_not_utf8_are_refused_naming_the_header) {
  auto requester = add_user("requester", 100);
  json body = {{"prompt", "x"}, {"models", {sd}}};
  for (const char* header : {"Client-Agent", "Idempotency-Key"}) {
    auto a = http_exchange(gw->port(), "POST", "/api/v2/generate/async", body.dump(),
                           {{"apikey", requester.key}, {header, "bad\xff\xfe"}});
    BOOST_TEST(a.status == 400u);
    std::string lower(header);
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    BOOST_TEST(a.body.find(lower) != std::string::npos, a.body);
  }
  // A long agent is cut between characters, and what is stored still reads back after a restart.
  std::string agent = std::string(255, 'a') + "\xe2\x82\xac";  // the euro sign straddles byte 256
  auto ok = http_exchange(gw->port(), "POST", "/api/v2/generate/async", body.dump(),
                          {{"apikey", requester.key}, {"Client-Agent", agent}});
  BOOST_REQUIRE_MESSAGE(ok.status == 202u, ok.body);
  auto id = ok.json().at("id").get<std::string>();
  restart_all();
  auto check = call("GET", "/api/v2/generate/check/" + id);
  BOOST_TEST(check.status == 200u, check.body);
}

BOOST_AUTO_TEST_CASE(a_bridge_agent_cut_at_80_bytes_stays_utf8) {
  auto owner = add_user("owner");
  std::string agent = std::string(77, 'r') + "\xf0\x9f\x98\x80 worker";  // a 4-byte character over byte 80
  auto popped =
      call_ok("POST", "/api/v2/generate/pop",
              {{"name", "w1"}, {"models", {sd}}, {"max_pixels", 262144}, {"bridge_agent", agent}}, owner.key);
  BOOST_TEST(popped.at("id").is_null());
  auto listed = call("GET", "/api/v2/workers");
  BOOST_REQUIRE(listed.status == 200u);
  auto list = listed.json();
  BOOST_REQUIRE(!list.is_discarded());
  BOOST_REQUIRE(list.size() == 1u);
  BOOST_TEST(valid_utf8(list.at(0).at("device").get<std::string>()));
}

BOOST_AUTO_TEST_CASE(no_api_key_is_the_anonymous_user) {
  auto a = call("POST", "/api/v2/generate/async", {{"prompt", "no key at all"}, {"models", {sd}}});
  BOOST_TEST(a.status == 202u, a.body);
}

BOOST_AUTO_TEST_CASE(strangers_sharing_an_idempotency_key_get_their_own_jobs) {
  json body = {{"prompt", "x"}, {"models", {sd}}};
  std::set<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto a = http_exchange(gw->port(), "POST", "/api/v2/generate/async", body.dump(),
                           {{"apikey", "0000000000"}, {"Idempotency-Key", "same-key"}});
    BOOST_REQUIRE_MESSAGE(a.status == 202u, a.body);
    ids.insert(a.json().at("id").get<std::string>());
  }
  BOOST_TEST(ids.size() == 2u);
  // A registered user resubmitting with a key still gets the first job back.
  auto requester = add_user("requester", 100);
  std::set<std::string> own;
  for (int i = 0; i < 2; ++i) {
    auto a = http_exchange(gw->port(), "POST", "/api/v2/generate/async", body.dump(),
                           {{"apikey", requester.key}, {"Idempotency-Key", "mine"}});
    BOOST_REQUIRE_MESSAGE(a.status == 202u, a.body);
    own.insert(a.json().at("id").get<std::string>());
  }
  BOOST_TEST(own.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_dry_run_refuses_what_a_submit_refuses) {
  auto requester = add_user("requester", 100);
  auto unknown = call("POST", "/api/v2/generate/async",
                      {{"prompt", "x"}, {"models", {"no_such_model"}}, {"dry_run", true}}, requester.key);
  BOOST_TEST(unknown.status == 400u, unknown.body);
  BOOST_TEST(unknown.body.find("unknown model") != std::string::npos, unknown.body);
  auto fine = call("POST", "/api/v2/generate/async", {{"prompt", "x"}, {"models", {sd}}, {"dry_run", true}},
                   requester.key);
  BOOST_TEST(fine.status == 200u, fine.body);
}

BOOST_AUTO_TEST_CASE(a_worker_name_that_reads_as_an_id_is_refused) {
  auto owner = add_user("owner");
  auto a = call("POST", "/api/v2/generate/pop", {{"name", "1"}, {"models", {sd}}, {"max_pixels", 262144}},
                owner.key);
  BOOST_TEST(a.status >= 400u, a.body);
  BOOST_TEST(a.status < 500u, a.body);
  BOOST_TEST(a.body.find("digits") != std::string::npos, a.body);
}

// Issue 11's first two attacks, through the whole gateway and core. Serving one's own job minted kudos for a
// user who had none; an anonymous job pinned to the attacker's own worker paid its owner in full while the
// requester's price was forgiven.
BOOST_AUTO_TEST_CASE(kudos_are_not_minted_by_serving_oneself_or_pinned_anonymous_jobs) {
  auto attacker = add_user("attacker");
  BOOST_TEST(pop(attacker.key, "farm", sd).at("id").is_null());
  auto own = generate(attacker.key, sd);
  finish(attacker.key, pop_job(attacker.key, "farm", sd));
  check_until(own, [](const json& c) { return c.at("done") == true; });
  // (The attacker's balance also grows by uptime pay, so the image's own settlement is what is checked.)
  auto own_status = status_of(*uuid::parse(own));
  BOOST_TEST(own_status.charged_mk() == 0);
  BOOST_TEST(own_status.images(0).credited_mk() == 0);

  auto worker_id = call_ok("GET", "/api/v2/workers/name/farm", nullptr, {}).at("id").get<std::string>();
  auto pinned =
      call_ok("POST", "/api/v2/generate/async",
              {{"prompt", "x"}, {"models", {sd}}, {"workers", {worker_id}}, {"params", {{"steps", 5}}}},
              std::string(anonymous_api_key), 202)
          .at("id")
          .get<std::string>();
  finish(attacker.key, pop_job(attacker.key, "farm", sd));
  check_until(pinned, [](const json& c) { return c.at("done") == true; });
  // The pinned worker earns no more than the requester really paid (the anonymous account pays out of its
  // floor, shared by every stranger). Before, it earned the image's full value whatever was paid.
  auto pinned_status = status_of(*uuid::parse(pinned));
  BOOST_TEST(pinned_status.images(0).credited_mk() <= pinned_status.charged_mk());

  // An accomplice with nothing (registered: floor 0) pins the worker: forgiven, and nothing is earned.
  auto accomplice = add_user("accomplice");
  auto broke =
      call_ok("POST", "/api/v2/generate/async",
              {{"prompt", "x"}, {"models", {sd}}, {"workers", {worker_id}}, {"params", {{"steps", 5}}}},
              accomplice.key, 202)
          .at("id")
          .get<std::string>();
  finish(attacker.key, pop_job(attacker.key, "farm", sd));
  check_until(broke, [](const json& c) { return c.at("done") == true; });
  auto broke_status = status_of(*uuid::parse(broke));
  BOOST_TEST(broke_status.charged_mk() == 0);
  BOOST_TEST(broke_status.images(0).credited_mk() == 0);
  auto audit_now = audit();
  BOOST_TEST(audit_now.minted_mk() - audit_now.burned_mk() == audit_now.sum_of_balances_mk());
}

// Issue 11's first attack, the image half: a submit was accepted when its bytes merely started with the PNG
// signature, and paid. Now every result is decoded and checked first: a fake, a wrong size or a flat
// colour gets a 400 saying why, pays nothing, counts against the worker, and the image runs again.
BOOST_AUTO_TEST_CASE(fake_images_are_refused_unpaid_and_counted_against_the_worker) {
  auto requester = add_user("requester", 100);
  auto attacker = add_user("attacker");
  BOOST_TEST(pop(attacker.key, "faker", sd).at("id").is_null());
  auto submit_bytes = [&](const json& popped, const std::string& bytes) {
    auto link = popped.at("r2_uploads").at(0).get<std::string>();
    auto put = http_exchange(gw->port(), "PUT", link.substr(link.find("/api/")), bytes,
                             {{"Content-Type", "image/png"}});
    BOOST_REQUIRE_MESSAGE(put.status == 200, put.body);
    return call("POST", "/api/v2/generate/submit",
                {{"id", popped.at("id")}, {"generation", "R2"}, {"state", "ok"}, {"seed", 1}}, attacker.key);
  };
  const std::vector<std::pair<std::string, std::string>> fakes = {
      {"does not decode", std::string("\x89PNG\r\n\x1a\n", 8) + "16 byte fake"},
      {"the job asked for", test_png(64, 64, 1)},
  };
  int rejected = 0;
  for (const auto& [why, bytes] : fakes) {
    auto id = generate(requester.key, sd);
    auto popped = pop_job(attacker.key, "faker", sd);
    auto reply = submit_bytes(popped, bytes);
    BOOST_TEST(reply.status == 400u, reply.body);
    BOOST_TEST(reply.body.find(why) != std::string::npos, reply.body);
    ++rejected;
    // Not paid, and back in the queue for someone else (never again for this worker).
    check_until(id, [](const json& c) { return c.at("restarted") == 1 && c.at("done") == false; });
    BOOST_TEST(pop(attacker.key, "faker", sd).at("id").is_null());
  }
  BOOST_TEST(balance_mk(attacker.key) == 0);
  json worker;
  for (int i = 0; i < 1000; ++i) {
    worker = call_ok("GET", "/api/v2/workers/name/faker", nullptr, {});
    if (worker.at("uncompleted_jobs") == rejected)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  BOOST_TEST(worker.at("uncompleted_jobs") == rejected);
  BOOST_TEST(worker.at("kudos_rewards") == 0);
  auto audit_now = audit();
  BOOST_TEST(audit_now.minted_mk() - audit_now.burned_mk() == audit_now.sum_of_balances_mk());
}

// Issue 11's last attack: a 0-kudos account, or the anonymous one, queued 2048x2048, 150-step jobs for free,
// and strangers had no concurrency limit (300 accepted at once).
BOOST_AUTO_TEST_CASE(big_requests_need_kudos_upfront_and_strangers_share_a_concurrency_limit) {
  auto broke = add_user("broke");
  const json big = {
      {"prompt", "x"}, {"models", {sd}}, {"params", {{"width", 2048}, {"height", 2048}, {"steps", 150}}}};
  for (const auto& key : {broke.key, std::string(anonymous_api_key)}) {
    auto refused = call("POST", "/api/v2/generate/async", big, key);
    BOOST_TEST(refused.status == 403u, refused.body);
    BOOST_TEST(refused.json().at("rc") == "KudosUpfront");
    BOOST_TEST(refused.json().at("message").get<std::string>().find("in hand") != std::string::npos);
  }
  // allow_downgrade: shrunk to the free limits, and the dry run quotes exactly what the submit charges.
  auto shrink = big;
  shrink["allow_downgrade"] = true;
  auto dry = shrink;
  dry["dry_run"] = true;
  auto quoted = call_ok("POST", "/api/v2/generate/async", dry, broke.key).at("kudos");
  auto accepted = call_ok("POST", "/api/v2/generate/async", shrink, broke.key, 202);
  BOOST_TEST(accepted.at("kudos") == quoted);
  auto stored = [&] {
    auto txn = store->read();
    return *persistence::job_table::get(**txn, *uuid::parse(accepted.at("id").get<std::string>()));
  }();
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST(stored->request().width() == 1024u);
  BOOST_TEST(stored->request().height() == 1024u);
  BOOST_TEST(stored->request().steps() == 50u);
  // A dry run without allow_downgrade quotes the full price (what the requester would need in hand).
  auto full = big;
  full["dry_run"] = true;
  BOOST_TEST(call_ok("POST", "/api/v2/generate/async", full, broke.key).at("kudos").get<double>() >
             quoted.get<double>());

  // Strangers share 60 unfinished images: three jobs of 20 fill them, the next image is refused.
  const json twenty = {{"prompt", "x"}, {"models", {sd}}, {"params", {{"steps", 5}, {"n", 20}}}};
  for (int i = 0; i < 3; ++i)
    call_ok("POST", "/api/v2/generate/async", twenty, std::string(anonymous_api_key), 202);
  auto one = twenty;
  one["params"]["n"] = 1;
  auto full_queue = call("POST", "/api/v2/generate/async", one, std::string(anonymous_api_key));
  BOOST_TEST(full_queue.status == 429u, full_queue.body);
  BOOST_TEST(full_queue.json().at("message").get<std::string>().find("register") != std::string::npos);
  // A registered user is not held by the strangers' queue.
  call_ok("POST", "/api/v2/generate/async", one, broke.key, 202);
}

BOOST_AUTO_TEST_SUITE_END()
