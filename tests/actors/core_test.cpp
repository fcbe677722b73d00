// The core in one process: jobs through Broker, Scheduler, Ledger and Workers (with a fake generator).
#include <algorithm>
#include <map>

#include <boost/test/unit_test.hpp>

#include "actors/ledger/pricing.hpp"
#include "actors/scheduler/result_check.hpp"
#include "common/api_key.hpp"
#include "common/log.hpp"
#include "common/utf8.hpp"
#include "core_fixture.hpp"
#include "models/image/png_codec.hpp"
#include "persistence/job_table.hpp"
#include "persistence/quarantine_table.hpp"
#include "persistence/webhook_table.hpp"
#include "persistence/worker_table.hpp"
#include "test_image.hpp"

using namespace crowdiff;
using namespace crowdiff::testing;

BOOST_FIXTURE_TEST_SUITE(core_suite, core_fixture)

BOOST_AUTO_TEST_CASE(a_job_runs_is_charged_and_its_image_can_be_fetched) {
  auto alice = add_user("alice", 100);
  auto bob = add_user("bob");
  auto gen = std::make_shared<fake_generator>();
  add_worker("bob-gpu", bob.id, gen);
  auto job = submit_ok(alice.key, request());
  auto final = wait_all({job})[0];
  BOOST_TEST(final.state() == v1::DONE);
  BOOST_TEST(final.images_done() == 1u);
  auto q = ledger::quote(request(), config.ledger());
  BOOST_TEST(final.charged_mk() == q->price_per_image_mk());
  BOOST_TEST(balance_mk(alice.key) == 100'000 - q->price_per_image_mk());
  BOOST_TEST(balance_mk(bob.key) >= q->value_per_image_mk());  // plus any uptime reward
  pb<v1::GenerationResult> image;
  (*self)
      ->request(core.broker, patience, fetch_atom::value, job, uint32_t{0})
      .receive([&](pb<v1::GenerationResult>& r) { image = r; },
               [&](caf::error& e) { BOOST_FAIL(to_string(e)); });
  BOOST_TEST(image.value.format() == "png");
  BOOST_TEST(image.value.worker_name() == "bob-gpu");
  BOOST_TEST(image.value.image().rfind("\x89PNG", 0) == 0);
  auto books = audit();
  BOOST_TEST(books.sum_of_balances_mk() == books.minted_mk() - books.burned_mk());
}

BOOST_AUTO_TEST_CASE(two_hundred_jobs_on_four_workers_with_exact_kudos) {
  config.mutable_limits()->set_max_concurrent_jobs(500);
  config.mutable_limits()->set_max_concurrent_images(5000);
  restart();
  auto requester = add_user("requester", 10'000);
  std::vector<user_info> owners;
  std::vector<std::shared_ptr<fake_generator>> gens;
  for (int i = 0; i < 4; ++i) {
    owners.push_back(add_user("owner" + std::to_string(i)));
    gens.push_back(std::make_shared<fake_generator>(std::vector<std::string>{"stable_diffusion"}, 1.0 + i));
    add_worker("w" + std::to_string(i), owners.back().id, gens.back());
  }
  auto before = audit();
  std::vector<uuid> jobs;
  for (int i = 0; i < 200; ++i)
    jobs.push_back(submit_ok(requester.key, request(1, 2 + i % 5)));
  auto finals = wait_all(jobs);
  int64_t charged = 0;
  int64_t expected = 0;
  for (size_t i = 0; i < finals.size(); ++i) {
    BOOST_REQUIRE(finals[i].state() == v1::DONE);
    charged += finals[i].charged_mk();
    expected +=
        ledger::quote(request(1, 2 + static_cast<uint32_t>(i) % 5), config.ledger())->price_per_image_mk();
  }
  BOOST_TEST(charged == expected);
  BOOST_TEST(balance_mk(requester.key) == 10'000'000 - expected);
  int completed = 0;
  for (const auto& g : gens)
    completed += g->completed.load();
  BOOST_TEST(completed == 200);  // every image made once: no duplicate work without a straggler
  auto after = audit();
  BOOST_TEST(after.sum_of_balances_mk() == after.minted_mk() - after.burned_mk());
  BOOST_TEST(after.burned_mk() - before.burned_mk() == expected);
}

BOOST_AUTO_TEST_CASE(bad_requests_get_clear_errors_and_change_nothing) {
  auto alice = add_user("alice", 10);
  auto before = audit();
  auto expect_error = [&](v1::JobRequest r, errc code, const std::string& words, const std::string& key) {
    auto [reply, err] = submit(key, r);
    BOOST_REQUIRE_MESSAGE(err, "accepted: " + r.ShortDebugString());
    auto st = to_status(err);
    BOOST_TEST(st.code() == code);
    BOOST_TEST(st.message().find(words) != std::string::npos, st.message());
  };
  auto r = request();
  expect_error(r, errc::unauthenticated, "unknown API key", "not-a-key");
  expect_error(r, errc::unauthenticated, "malformed", "");
  r.set_prompt("");
  expect_error(r, errc::invalid_argument, "prompt is empty", alice.key);
  r = request();
  r.set_width(513);
  expect_error(r, errc::invalid_argument, "multiple of 8", alice.key);
  r = request();
  r.set_height(4096);
  expect_error(r, errc::invalid_argument, "height", alice.key);
  r = request();
  r.set_n(21);
  expect_error(r, errc::invalid_argument, "n must be", alice.key);
  r = request();
  r.set_steps(0);
  expect_error(r, errc::invalid_argument, "steps", alice.key);
  r = request();
  r.add_models("no_such_model");
  expect_error(r, errc::invalid_argument, "unknown model 'no_such_model'", alice.key);
  r = request();
  r.set_prompt(std::string("bad \xff\xfe utf8"));
  expect_error(r, errc::invalid_argument, "UTF-8", alice.key);
  r = request();
  r.set_prompt(std::string("nul\0byte", 8));
  expect_error(r, errc::invalid_argument, "NUL", alice.key);
  r = request();
  r.set_denoising_strength(0.5f);
  expect_error(r, errc::invalid_argument, "needs a source_image", alice.key);
  r = request();
  r.set_source_image("not an image");
  r.set_denoising_strength(0.5f);
  expect_error(r, errc::invalid_argument, "PNG or WebP", alice.key);
  r = request();
  r.set_sampler(static_cast<v1::Sampler>(99));
  expect_error(r, errc::invalid_argument, "sampler", alice.key);
  r = request();
  r.set_cfg_scale(std::numeric_limits<float>::quiet_NaN());
  expect_error(r, errc::invalid_argument, "cfg_scale", alice.key);
  // Nothing was stored or charged.
  auto txn = store->read();
  int jobs = 0;
  for (auto s : {v1::QUEUED, v1::RUNNING, v1::DONE, v1::FAILED, v1::CANCELLED})
    BOOST_TEST(persistence::job_table::scan_state(**txn, s, [&](v1::JobRecord&) {
                 ++jobs;
                 return true;
               }).is_ok());
  BOOST_TEST(jobs == 0);
  auto after = audit();
  BOOST_TEST(after.entries() == before.entries());
}

BOOST_AUTO_TEST_CASE(a_worker_dying_mid_job_hands_it_to_another_and_earns_nothing) {
  auto alice = add_user("alice", 100);
  auto slow_owner = add_user("slowowner");
  auto other_owner = add_user("otherowner");
  auto doomed_gen = std::make_shared<fake_generator>(std::vector<std::string>{"stable_diffusion"}, 50.0);
  doomed_gen->close_gate();
  auto doomed = add_worker("doomed", slow_owner.id, doomed_gen);
  auto job = submit_ok(alice.key, request());
  BOOST_REQUIRE(doomed_gen->wait_until_blocked());
  auto survivor_gen = std::make_shared<fake_generator>(std::vector<std::string>{"stable_diffusion"}, 1.0);
  add_worker("survivor", other_owner.id, survivor_gen);
  caf::anon_send_exit(doomed, caf::exit_reason::kill);
  auto final = wait_all({job})[0];
  BOOST_TEST(final.state() == v1::DONE);
  BOOST_TEST(survivor_gen->completed.load() == 1);
  BOOST_TEST(doomed_gen->completed.load() == 0);
  BOOST_REQUIRE_EQUAL(final.images_size(), 1);
  BOOST_TEST(final.images(0).worker_id() != 0u);
  auto books = audit();
  BOOST_TEST(books.sum_of_balances_mk() == books.minted_mk() - books.burned_mk());
  auto q = ledger::quote(request(), config.ledger());
  BOOST_TEST(balance_mk(other_owner.key) >= q->value_per_image_mk());
  BOOST_TEST(balance_mk(slow_owner.key) < q->value_per_image_mk());  // at most uptime, never the job's value
  doomed_gen->open_gate();
}

BOOST_AUTO_TEST_CASE(a_duplicate_result_is_charged_once) {
  auto alice = add_user("alice", 100);
  auto owner = add_user("owner");
  add_worker("w", owner.id, std::make_shared<fake_generator>());
  auto job = submit_ok(alice.key, request());
  auto final = wait_all({job})[0];
  auto after_first = balance_mk(alice.key);
  auto books_first = audit();
  // The scheduler forwarding the same image again (a retried message) changes nothing.
  v1::GenerationResult again;
  again.set_job_id(job.to_bytes());
  again.set_image("\x89PNG again");
  caf::anon_send(core.broker, completed_atom::value, job, uint32_t{0}, uint64_t{1}, owner.id,
                 pb<v1::GenerationResult>{again});
  BOOST_TEST(status_of(job).state() == v1::DONE);  // a round trip: the duplicate was handled before
  BOOST_TEST(balance_mk(alice.key) == after_first);
  BOOST_TEST(audit().entries() == books_first.entries());
  BOOST_TEST(final.charged_mk() > 0);
}

// Issue 11's first attack: results that merely start with the PNG signature were paid in full. Every result
// is now decoded and checked before anyone is paid; a bad one is the worker's fault and runs elsewhere.
BOOST_AUTO_TEST_CASE(a_result_that_fails_the_check_pays_nothing_and_runs_elsewhere) {
  const auto req = request();
  const std::vector<std::pair<std::string, std::string>> cheats = {
      {"fake", std::string("\x89PNG\r\n\x1a\n", 8) + "16 byte fake"},
      {"small", testing::test_png(8, 8, 1)},
      {"flat",
       [&] {
         models::rgb_image grey;
         grey.width = static_cast<int>(req.width());
         grey.height = static_cast<int>(req.height());
         grey.pixels.assign(static_cast<size_t>(grey.width) * grey.height * 3, 128);
         auto png = models::encode_png(grey);
         return std::string(png->begin(), png->end());
       }()},
  };
  auto alice = add_user("alice", 100);
  for (const auto& [kind, bytes] : cheats) {
    BOOST_TEST_CONTEXT("cheat: " << kind) {
      auto cheater = add_user("cheater-" + kind);
      auto honest = add_user("honest-" + kind);
      auto cheat_gen = std::make_shared<fake_generator>();
      cheat_gen->image = [bytes = bytes](const v1::TaskSpec&) { return bytes; };
      auto cheat_worker = add_worker("cheat-" + kind, cheater.id, cheat_gen);
      auto before = balance_mk(alice.key);
      auto job = submit_ok(alice.key, req);
      uint64_t cheat_id = 0;
      BOOST_REQUIRE(wait_for_workers([&](const worker_summaries& ws) {
        for (const auto& w : ws)
          if (w.name == "cheat-" + kind)
            cheat_id = w.id;
        return cheat_id != 0;
      }));
      // The rejection is on the cheater's record (statistics, written apart from the settlement).
      std::optional<v1::WorkerRecord> record;
      auto deadline = std::chrono::steady_clock::now() + patience;
      while (std::chrono::steady_clock::now() < deadline) {
        auto txn = store->read();
        BOOST_REQUIRE(txn.has_value());
        auto rec = persistence::worker_table::get(**txn, cheat_id);
        BOOST_REQUIRE(rec.has_value());
        if (rec->has_value() && (*rec)->rejected_results() > 0) {
          record = **rec;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      BOOST_REQUIRE(record.has_value());
      BOOST_TEST(record->rejected_results() == 1u);
      BOOST_TEST(record->faults() == 1u);
      BOOST_TEST(record->images_done() == 0u);
      // The image runs elsewhere: never again on the worker that failed it.
      caf::anon_send_exit(cheat_worker, caf::exit_reason::user_shutdown);
      auto honest_gen = std::make_shared<fake_generator>();
      auto honest_worker = add_worker("honest-" + kind, honest.id, honest_gen);
      auto final = wait_all({job})[0];
      BOOST_TEST(final.state() == v1::DONE);
      BOOST_TEST(cheat_gen->completed.load() == 1);
      BOOST_TEST(honest_gen->completed.load() == 1);
      BOOST_TEST(balance_mk(cheater.key) == 0);
      BOOST_TEST(balance_mk(honest.key) > 0);
      BOOST_TEST(before - balance_mk(alice.key) == final.charged_mk());  // charged once, for the honest image
      pb<v1::GenerationResult> image;
      (*self)
          ->request(core.broker, patience, fetch_atom::value, job, uint32_t{0})
          .receive([&](pb<v1::GenerationResult>& r) { image = std::move(r); },
                   [&](caf::error& e) { BOOST_FAIL(to_string(e)); });
      BOOST_TEST(scheduling::check_result(image.value.image(), req.width(), req.height()).has_value());
      caf::anon_send_exit(honest_worker, caf::exit_reason::user_shutdown);
      BOOST_REQUIRE(wait_for_workers([](const worker_summaries& ws) { return ws.empty(); }));
    }
  }
  auto books = audit();
  BOOST_TEST(books.sum_of_balances_mk() == books.minted_mk() - books.burned_mk());
}

BOOST_AUTO_TEST_CASE(cancelling_stops_work_and_costs_nothing) {
  auto alice = add_user("alice", 100);
  auto owner = add_user("owner");
  auto gen = std::make_shared<fake_generator>();
  gen->close_gate();
  add_worker("w", owner.id, gen);
  auto running = submit_ok(alice.key, request());
  BOOST_REQUIRE(gen->wait_until_blocked());
  auto queued = submit_ok(alice.key, request());
  for (auto job : {queued, running}) {
    pb<v1::JobStatus> st;
    (*self)
        ->request(core.broker, patience, cancel_atom::value, job)
        .receive([&](pb<v1::JobStatus>& s) { st = s; }, [&](caf::error& e) { BOOST_FAIL(to_string(e)); });
    BOOST_TEST(st.value.state() == v1::CANCELLED);
  }
  BOOST_TEST(status_of(running).state() == v1::CANCELLED);
  BOOST_TEST(balance_mk(alice.key) == 100'000);
  // The worker was told to stop (it notices while waiting at the gate) and is free again: a new job
  // completes.
  BOOST_REQUIRE(gen->wait_for_cancelled(1));
  gen->open_gate();
  auto next = submit_ok(alice.key, request());
  BOOST_TEST(wait_all({next})[0].state() == v1::DONE);
  BOOST_TEST(gen->cancelled_runs.load() == 1);
}

BOOST_AUTO_TEST_CASE(a_job_no_worker_can_serve_says_so_then_fails) {
  config.mutable_scheduler()->set_unservable_timeout_s(1);
  restart();
  auto alice = add_user("alice", 100);
  auto owner = add_user("owner");
  add_worker("sd-only", owner.id, std::make_shared<fake_generator>());
  auto r = request();
  r.add_models("sdxl");
  auto [reply, err] = submit(alice.key, r);
  BOOST_REQUIRE(!err);
  BOOST_TEST(!reply.possible());
  auto job = *uuid::from_bytes(reply.job_id());
  auto st = status_of(job);
  BOOST_TEST(!st.possible());
  BOOST_TEST(st.failure_reason().find("no online worker") != std::string::npos);
  auto final = wait_all({job})[0];
  BOOST_TEST(final.state() == v1::FAILED);
  BOOST_TEST(final.failure_code() == static_cast<uint32_t>(errc::unavailable));
  BOOST_TEST(final.charged_mk() == 0);
  BOOST_TEST(balance_mk(alice.key) == 100'000);
}

BOOST_AUTO_TEST_CASE(faults_are_retried_on_other_workers_then_fail_uncharged) {
  auto alice = add_user("alice", 100);
  std::vector<std::shared_ptr<fake_generator>> gens;
  for (int i = 0; i < 5; ++i) {
    auto owner = add_user("o" + std::to_string(i));
    gens.push_back(std::make_shared<fake_generator>());
    gens.back()->fault = [](const v1::TaskSpec&) { return status{errc::generation_failed, "out of memory"}; };
    add_worker("w" + std::to_string(i), owner.id, gens.back());
  }
  auto job = submit_ok(alice.key, request());
  auto final = wait_all({job})[0];
  BOOST_TEST(final.state() == v1::FAILED);
  BOOST_TEST(final.failure_reason().find("out of memory") != std::string::npos);
  BOOST_TEST(final.failure_reason().find("4 attempts") != std::string::npos);
  int tried = 0;
  for (const auto& g : gens) {
    BOOST_TEST(g->started.load() <= 1);  // never twice on the same worker
    tried += g->started.load();
  }
  BOOST_TEST(tried == 4);
  BOOST_TEST(balance_mk(alice.key) == 100'000);

  // One bad worker among good ones: the job still succeeds.
  gens[0]->fault = nullptr;
  auto second = submit_ok(alice.key, request());
  BOOST_TEST(wait_all({second})[0].state() == v1::DONE);
}

// A worker's error message is outside text: bytes that are not UTF-8, or a cut inside a character, must not
// make the job's stored record unreadable.
BOOST_AUTO_TEST_CASE(the_catalog_holds_at_most_its_configured_number_of_names) {
  config.mutable_limits()->set_max_catalog_models(2);
  restart();
  auto alice = add_user("alice", 100);
  auto owner = add_user("owner");
  add_worker("many", owner.id, std::make_shared<fake_generator>(std::vector<std::string>{"m1", "m2", "m3"}));
  auto known = [&] {
    int n = 0;
    for (const char* m : {"m1", "m2", "m3"}) {
      auto r = request();
      r.add_models(m);
      n += submit(alice.key, r).second ? 0 : 1;
    }
    return n;
  };
  int seen = 0;
  for (int i = 0; i < 1000 && (seen = known()) < 2; ++i)
    std::this_thread::yield();
  BOOST_TEST(seen == 2);
}

BOOST_AUTO_TEST_CASE(a_worker_fault_message_that_is_not_utf8_is_stored_safely) {
  config.mutable_scheduler()->set_max_attempts(1);
  restart();
  auto alice = add_user("alice", 100);
  auto owner = add_user("owner");
  auto gen = std::make_shared<fake_generator>();
  gen->fault = [](const v1::TaskSpec&) {
    return status{errc::generation_failed, "bad \xff\xfe bytes " + std::string(995, 'x') + "\xc3\xa9"};
  };
  add_worker("w", owner.id, gen);
  auto job = submit_ok(alice.key, request());
  auto final = wait_all({job})[0];
  BOOST_TEST(final.state() == v1::FAILED);
  BOOST_TEST(valid_utf8(final.failure_reason()));
  BOOST_TEST(final.failure_reason().find("bad \xef\xbf\xbd") != std::string::npos);
  restart();  // the stored record still reads back
  BOOST_TEST(status_of(job).state() == v1::FAILED);
}

BOOST_AUTO_TEST_CASE(acknowledged_jobs_survive_a_restart) {
  auto alice = add_user("alice", 100);
  std::vector<uuid> jobs;
  for (int i = 0; i < 5; ++i)
    jobs.push_back(submit_ok(alice.key, request(2)));
  restart();  // no worker ever saw them
  auto owner = add_user("owner");
  add_worker("late", owner.id, std::make_shared<fake_generator>());
  for (const auto& st : wait_all(jobs)) {
    BOOST_TEST(st.state() == v1::DONE);
    BOOST_TEST(st.images_done() == 2u);
  }
  auto books = audit();
  BOOST_TEST(books.sum_of_balances_mk() == books.minted_mk() - books.burned_mk());
}

BOOST_AUTO_TEST_CASE(recovery_quarantines_what_it_cannot_read_and_recovers_the_rest) {
  auto alice = add_user("alice", 100);
  std::vector<uuid> jobs;
  for (int i = 0; i < 5; ++i)
    jobs.push_back(submit_ok(alice.key, request(1)));
  stop();
  // While the core is down, the third job's prompt becomes invalid UTF-8 (a proto3 string that no longer
  // parses) and a worker record becomes garbage.
  std::string bad_job;
  const std::string bad_worker_key("\0\0\0\0\0\0\0\x63", 8);
  {
    auto s = persistence::store::open(persistence::store_options{dir.path(), false, 8 << 20, 256});
    BOOST_REQUIRE(s.has_value());
    auto w = (*s)->kv().begin_write();
    auto value = (*w)->get(persistence::table::jobs, jobs[2].to_bytes());
    BOOST_REQUIRE(value.has_value() && value->has_value());
    bad_job = std::string(**value);
    auto at = bad_job.find("lighthouse");
    BOOST_REQUIRE(at != std::string::npos);
    bad_job[at] = static_cast<char>(0xff);
    BOOST_REQUIRE((*w)->put(persistence::table::jobs, jobs[2].to_bytes(), bad_job).is_ok());
    BOOST_REQUIRE((*w)->put(persistence::table::workers, bad_worker_key, "\x01\xff\xff").is_ok());
    BOOST_REQUIRE((*w)->commit().is_ok());
  }
  std::vector<std::string> lines;
  std::mutex m;
  log::set_sink([&](log::level, const std::string& l) {
    std::lock_guard lock{m};
    lines.push_back(l);
  });
  start();
  // The Broker recovered (it answers) and its quarantine write is queued before this no-op, so it is durable
  // once the no-op is.
  BOOST_TEST(status_of(jobs[0]).state() == v1::QUEUED);
  BOOST_REQUIRE(store->write_sync([](persistence::write_txn&) { return status::ok(); }).is_ok());
  // The Broker logs each record once its move is committed, when the commit's answer reaches it: wait
  // (bounded) for both lines before the capture ends.
  auto logged_moves = [&] {
    std::lock_guard lock{m};
    return std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
      return l.find("event=record_quarantined") != std::string::npos;
    });
  };
  for (int i = 0; i < 10'000 && logged_moves() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  log::reset_sink();

  std::vector<v1::QuarantineRecord> quarantined;
  {
    auto txn = store->read();
    BOOST_REQUIRE(persistence::quarantine_table::scan(**txn, [&](v1::QuarantineRecord& q) {
                    quarantined.push_back(q);
                    return true;
                  }).is_ok());
    BOOST_TEST(!(*(*txn)->get(persistence::table::jobs, jobs[2].to_bytes())).has_value());
  }
  BOOST_REQUIRE_EQUAL(quarantined.size(), 2u);
  std::map<uint32_t, v1::QuarantineRecord> by_table;
  for (const auto& q : quarantined)
    by_table[q.source_table()] = q;
  auto job_entry = by_table[static_cast<uint32_t>(persistence::table::jobs)];
  BOOST_TEST(job_entry.key() == jobs[2].to_bytes());
  BOOST_TEST(job_entry.value() == bad_job);
  BOOST_TEST(by_table[static_cast<uint32_t>(persistence::table::workers)].key() == bad_worker_key);
  int logged = 0;
  for (const auto& l : lines)
    if (l.find("event=record_quarantined") != std::string::npos &&
        l.find("key=" + persistence::to_hex(jobs[2].to_bytes())) != std::string::npos)
      ++logged;
  BOOST_TEST(logged == 1);

  // Every other acknowledged job was queued again and runs.
  auto owner = add_user("owner");
  add_worker("late", owner.id, std::make_shared<fake_generator>());
  std::vector<uuid> good = {jobs[0], jobs[1], jobs[3], jobs[4]};
  for (const auto& st : wait_all(good))
    BOOST_TEST(st.state() == v1::DONE);
}

BOOST_AUTO_TEST_CASE(a_job_with_a_webhook_is_owed_its_done_from_its_acceptance) {
  auto alice = add_user("alice", 100);
  auto with_hook = request(1);
  with_hook.set_webhook("https://hooks.example/done");
  auto hooked = submit_ok(alice.key, with_hook);
  auto plain = submit_ok(alice.key, request(1));
  // Acknowledged means durable, and the record is written with the job.
  auto txn = store->read();
  BOOST_REQUIRE(txn.has_value());
  BOOST_TEST(*persistence::webhook_table::owed(**txn, hooked) == true);
  BOOST_TEST(*persistence::webhook_table::owed(**txn, plain) == false);
}

BOOST_AUTO_TEST_CASE(a_straggler_gets_a_backup_and_only_the_winner_is_credited) {
  config.mutable_scheduler()->set_backup_min_ms(50);
  config.mutable_scheduler()->set_backup_after_factor(1.0);
  restart();
  auto alice = add_user("alice", 100);
  auto slow_owner = add_user("slow");
  auto fast_owner = add_user("fast");
  auto stuck = std::make_shared<fake_generator>(std::vector<std::string>{"stable_diffusion"}, 100.0);
  stuck->close_gate();
  add_worker("stuck", slow_owner.id, stuck);
  auto job = submit_ok(alice.key, request());
  BOOST_REQUIRE(stuck->wait_until_blocked());
  auto fast = std::make_shared<fake_generator>(std::vector<std::string>{"stable_diffusion"}, 1.0);
  add_worker("fast", fast_owner.id, fast);
  auto final = wait_all({job})[0];
  BOOST_TEST(final.state() == v1::DONE);
  BOOST_TEST(fast->completed.load() == 1);
  BOOST_TEST(final.images(0).credited_mk() > 0);
  // The stuck copy was cancelled once the backup won.
  stuck->open_gate();
  BOOST_TEST(wait_for_workers([&](const worker_summaries& ws) {
    for (const auto& w : ws)
      if (w.name == "stuck" && w.busy == 0)
        return true;
    return false;
  }));
  auto q = ledger::quote(request(), config.ledger());
  BOOST_TEST(balance_mk(slow_owner.key) < q->value_per_image_mk());
  BOOST_TEST(balance_mk(fast_owner.key) >= q->value_per_image_mk());
}

BOOST_AUTO_TEST_CASE(subscribers_see_progress_and_the_image) {
  auto alice = add_user("alice", 100);
  auto owner = add_user("owner");
  auto gen = std::make_shared<fake_generator>();
  gen->close_gate();
  add_worker("w", owner.id, gen);
  auto job = submit_ok(alice.key, request(1, 6));
  BOOST_REQUIRE(gen->wait_until_blocked());
  (*self)
      ->request(core.broker, patience, subscribe_atom::value, job, caf::actor_cast<caf::actor>(*self))
      .receive([](pb<v1::JobStatus>&) {}, [](caf::error& e) { BOOST_FAIL(to_string(e)); });
  gen->open_gate();
  uint32_t last_step = 0;
  bool got_image = false;
  bool done = false;
  while (!done) {
    (*self)->receive(
        [&](event_atom, pb<v1::JobEvent>& ev) {
          if (ev.value.kind() == v1::JobEvent::PROGRESS) {
            BOOST_TEST(ev.value.step() >= last_step);
            last_step = ev.value.step();
          }
          if (ev.value.kind() == v1::JobEvent::STATE && terminal(ev.value.status().state()))
            done = true;
        },
        [&](image_atom, pb<v1::GenerationResult>& r) { got_image = r.value.image_index() == 0; },
        caf::after(patience) >> [&] { BOOST_FAIL("no events"); });
  }
  BOOST_TEST(last_step == 6u);
  BOOST_TEST(got_image);
}

BOOST_AUTO_TEST_CASE(workers_online_earn_uptime_and_the_books_balance) {
  // Uptime is for serving workers: this one has been paid for an image for someone else.
  auto owner = add_user("owner");
  auto alice = add_user("alice", 100);
  add_worker("w", owner.id, std::make_shared<fake_generator>());
  auto job = submit_ok(alice.key, request());
  auto done = wait_all({job});
  int64_t for_the_image = done.at(0).images(0).credited_mk();
  BOOST_REQUIRE(for_the_image > 0);
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (balance_mk(owner.key) <= for_the_image && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  BOOST_TEST(balance_mk(owner.key) > for_the_image);
  auto books = audit();
  BOOST_TEST(books.sum_of_balances_mk() == books.minted_mk() - books.burned_mk());
}

BOOST_AUTO_TEST_CASE(anonymous_requests_run_at_the_lowest_priority_and_cannot_transfer) {
  auto owner = add_user("owner");
  auto gen = std::make_shared<fake_generator>();
  gen->close_gate();
  add_worker("w", owner.id, gen);
  auto blocker = submit_ok(std::string(anonymous_api_key), request());
  BOOST_REQUIRE(gen->wait_until_blocked());
  auto anon_job = submit_ok(std::string(anonymous_api_key), request());
  auto rich = add_user("rich", 500);
  auto rich_job = submit_ok(rich.key, request());
  BOOST_TEST(status_of(rich_job).queue_position() == 1u);
  BOOST_TEST(status_of(anon_job).queue_position() == 2u);
  gen->open_gate();
  wait_all({blocker, anon_job, rich_job});
  pb<v1::LedgerEntry> entry;
  caf::error err;
  (*self)
      ->request(core.ledger, patience, transfer_atom::value, std::string(anonymous_api_key),
                std::string("rich"), int64_t{1000}, std::string())
      .receive([&](pb<v1::LedgerEntry>& e) { entry = e; }, [&](caf::error& e) { err = e; });
  BOOST_TEST(to_status(err).code() == errc::permission_denied);
}

BOOST_AUTO_TEST_CASE(a_worker_with_two_slots_gets_the_next_image_while_it_works) {
  auto alice = add_user("alice", 100);
  auto owner = add_user("owner");
  auto gen = std::make_shared<fake_generator>();
  gen->close_gate();
  add_worker("prefetching", owner.id, gen, 2);
  auto first = submit_ok(alice.key, request());
  BOOST_REQUIRE(gen->wait_until_blocked());
  auto second = submit_ok(alice.key, request());
  auto third = submit_ok(alice.key, request());
  // The second sits in the worker (not in the queue); the third waits in the queue.
  BOOST_TEST(status_of(second).queue_position() == 0u);
  BOOST_TEST(status_of(third).queue_position() == 1u);
  gen->open_gate();
  for (const auto& st : wait_all({first, second, third}))
    BOOST_TEST(st.state() == v1::DONE);
  BOOST_TEST(gen->completed.load() == 3);
}

BOOST_AUTO_TEST_CASE(every_job_state_change_is_one_log_line) {
  std::vector<std::string> lines;
  std::mutex m;
  log::set_level(log::level::info);
  log::set_sink([&](log::level, const std::string& l) {
    std::lock_guard lock{m};
    lines.push_back(l);
  });
  auto alice = add_user("alice", 100);
  auto owner = add_user("owner");
  add_worker("w", owner.id, std::make_shared<fake_generator>());
  auto job = submit_ok(alice.key, request());
  wait_all({job});
  log::reset_sink();
  std::vector<std::string> transitions;
  bool joined = false;
  for (const auto& l : lines) {
    if (l.find("event=job_state") != std::string::npos && l.find(job.to_string()) != std::string::npos) {
      auto to = l.substr(l.find(" to=") + 4);
      transitions.push_back(to.substr(0, to.find(' ')));
    }
    joined |= l.find("event=worker_join") != std::string::npos;
  }
  BOOST_TEST((transitions == std::vector<std::string>{"queued", "running", "done"}));
  BOOST_TEST(joined);
}

// A model name is known while a live worker serves it (or the configuration names it): names made up by a
// worker that left do not pile up, and requests for them are refused.
BOOST_AUTO_TEST_CASE(the_catalog_is_what_live_workers_serve) {
  auto alice = add_user("alice", 100);
  auto owner = add_user("owner");
  auto r = request();
  r.add_models("made_up_model");
  auto [before, refused] = submit(alice.key, r);
  BOOST_REQUIRE(refused);
  BOOST_TEST(to_status(refused).message().find("unknown model") != std::string::npos);
  auto gen = std::make_shared<fake_generator>(std::vector<std::string>{"made_up_model"});
  auto w = add_worker("maker", owner.id, gen);
  // Known while its worker is here (the scheduler tells the broker right after the join: bounded retries).
  bool known = false;
  for (int i = 0; i < 1000 && !known; ++i) {
    auto [reply, err] = submit(alice.key, r);
    known = !err;
    if (!known)
      std::this_thread::yield();
  }
  BOOST_TEST(known);
  caf::anon_send_exit(w, caf::exit_reason::kill);
  BOOST_REQUIRE(wait_for_workers([](const worker_summaries& ws) { return ws.empty(); }));
  bool gone = false;
  for (int i = 0; i < 1000 && !gone; ++i) {
    auto [reply, err] = submit(alice.key, r);
    gone = err && to_status(err).message().find("unknown model") != std::string::npos;
    if (!gone)
      std::this_thread::yield();
  }
  BOOST_TEST(gone);
  r.clear_models();
  r.add_models("stable_diffusion");  // named in the configuration: always known
  auto [configured, err] = submit(alice.key, r);
  BOOST_TEST(!err);
}

BOOST_AUTO_TEST_SUITE_END()
