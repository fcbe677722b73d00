#include "actors/broker/admission.hpp"

#include <boost/test/unit_test.hpp>

#include "actors/ledger/pricing.hpp"
#include "config/node_config.hpp"

using namespace crowdiff;

namespace {

v1::NodeConfig node_config() {
  return config::with_defaults({});
}

v1::JobRequest request(uint32_t width = 512, uint32_t height = 512, uint32_t steps = 30, uint32_t n = 1) {
  v1::JobRequest r;
  r.set_prompt("a lighthouse");
  r.set_width(width);
  r.set_height(height);
  r.set_steps(steps);
  r.set_n(n);
  r.set_sampler(v1::K_EULER_A);
  return r;
}

broker::requester registered(double kudos) {
  broker::requester who;
  who.balance_mk = ledger::to_mk(kudos);
  return who;
}

broker::requester anonymous() {
  broker::requester who;
  who.anonymous = true;
  who.balance_mk = ledger::to_mk(1e9);  // whatever the shared account holds, strangers never have it in hand
  return who;
}

int64_t price_mk(const v1::JobRequest& r) {
  return ledger::quote(r, node_config().ledger())->total_mk();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(admission_suite)

BOOST_AUTO_TEST_CASE(a_free_request_is_admitted_for_anyone_at_its_quoted_price) {
  auto cfg = node_config();
  for (const auto& who : {registered(0), anonymous()}) {
    auto a = broker::admit(request(1024, 1024, 50), who, cfg);
    BOOST_REQUIRE(a.has_value());
    BOOST_TEST(!a->downgraded);
    BOOST_TEST(a->request.width() == 1024u);
    BOOST_TEST(a->quote.total_mk() == price_mk(request(1024, 1024, 50)));
  }
}

// Issue 11: a 0-kudos account, or the anonymous one, queued 2048x2048, 150-step jobs for free.
BOOST_AUTO_TEST_CASE(over_the_free_limits_the_price_must_be_in_hand) {
  auto cfg = node_config();
  auto big = request(2048, 2048, 150);
  for (const auto& who : {registered(0), anonymous()}) {
    auto a = broker::admit(big, who, cfg);
    BOOST_REQUIRE(!a.has_value());
    BOOST_TEST(a.error().code() == errc::insufficient_kudos);
    BOOST_TEST(a.error().message().find("in hand") != std::string::npos, a.error().message());
  }
  BOOST_TEST(broker::admit(big, anonymous(), cfg).error().message().find("anonymous") != std::string::npos);
  // Over by size alone, or by steps alone.
  BOOST_TEST(!broker::admit(request(1024, 1032), registered(0), cfg).has_value());
  BOOST_TEST(!broker::admit(request(512, 512, 51), registered(0), cfg).has_value());
  // A second-order sampler's step is two model calls: 30 steps of k_heun count 60.
  auto heun = request(512, 512, 30);
  heun.set_sampler(v1::K_HEUN);
  BOOST_TEST(broker::counted_steps(heun) == 60u);
  BOOST_TEST(!broker::admit(heun, registered(0), cfg).has_value());
  // With the price in hand it runs as asked.
  auto rich = registered(static_cast<double>(price_mk(big)) / 1000.0);
  auto a = broker::admit(big, rich, cfg);
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(!a->downgraded);
  BOOST_TEST(a->request.width() == 2048u);
}

BOOST_AUTO_TEST_CASE(what_unfinished_images_will_cost_is_not_in_hand) {
  auto cfg = node_config();
  auto big = request(1536, 1536, 30);
  auto who = registered(static_cast<double>(price_mk(big)) / 1000.0);
  BOOST_TEST(broker::admit(big, who, cfg).has_value());
  v1::JobRecord running;
  running.mutable_quote()->set_price_per_image_mk(1000);
  running.add_images()->set_state(v1::IMAGE_PENDING);
  running.add_images()->set_state(v1::IMAGE_DONE);  // paid already: out of the balance, not reserved
  broker::add_job(who.load, running);
  BOOST_TEST(who.load.jobs == 1u);
  BOOST_TEST(who.load.images == 2u);
  BOOST_TEST(who.load.reserved_mk == 1000);
  auto a = broker::admit(big, who, cfg);
  BOOST_REQUIRE(!a.has_value());
  BOOST_TEST(a.error().code() == errc::insufficient_kudos);
}

BOOST_AUTO_TEST_CASE(allow_downgrade_shrinks_to_the_free_limits_keeping_the_aspect) {
  auto cfg = node_config();
  auto big = request(2048, 1024, 150);
  big.set_allow_downgrade(true);
  auto a = broker::admit(big, anonymous(), cfg);
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST(a->downgraded);
  BOOST_TEST(a->request.width() == 1408u);  // 2048 / sqrt(2), down to a multiple of 64
  BOOST_TEST(a->request.height() == 704u);
  BOOST_TEST(a->request.steps() == 50u);
  BOOST_TEST(!broker::needs_upfront(a->request, cfg.limits()));
  BOOST_TEST(a->quote.total_mk() == price_mk(a->request));
  BOOST_TEST(a->quote.total_mk() < price_mk(big));
  // Second-order samplers are cut to half the free steps.
  auto heun = request(512, 512, 40);
  heun.set_sampler(v1::K_DPM_2);
  BOOST_TEST(broker::downgrade(heun, cfg.limits()).steps() == 25u);
  // A side held at its minimum leaves the other to shrink.
  auto limits = cfg.limits();
  limits.set_free_max_pixels(64 * 64);
  auto thin = broker::downgrade(request(64, 2048), limits);
  BOOST_TEST(thin.width() == 64u);
  BOOST_TEST(thin.height() == 64u);
  // What fits already is left alone.
  auto small = request(512, 768, 20);
  auto same = broker::downgrade(small, cfg.limits());
  BOOST_TEST(same.width() == 512u);
  BOOST_TEST(same.height() == 768u);
  BOOST_TEST(same.steps() == 20u);
}

BOOST_AUTO_TEST_CASE(concurrency_is_counted_in_images) {
  auto cfg = node_config();
  v1::JobRecord twenty;
  for (int i = 0; i < 20; ++i)
    twenty.add_images()->set_state(v1::IMAGE_PENDING);
  // A registered user: 30 images at once by default.
  auto who = registered(1000);
  broker::add_job(who.load, twenty);
  BOOST_TEST(broker::admit(request(512, 512, 20, 10), who, cfg).has_value());
  auto over = broker::admit(request(512, 512, 20, 11), who, cfg);
  BOOST_REQUIRE(!over.has_value());
  BOOST_TEST(over.error().code() == errc::resource_exhausted);
  BOOST_TEST(over.error().message().find("unfinished images") != std::string::npos);
  // The anonymous account: 60 shared by every stranger (the 300 at once are refused).
  auto strangers = anonymous();
  for (int i = 0; i < 3; ++i)
    broker::add_job(strangers.load, twenty);
  auto refused = broker::admit(request(512, 512, 20, 1), strangers, cfg);
  BOOST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().code() == errc::resource_exhausted);
  BOOST_TEST(refused.error().message().find("register") != std::string::npos);
  // A dry run quotes; it does not count.
  BOOST_TEST(broker::quote_for(request(512, 512, 20, 1), strangers, cfg).has_value());
}

BOOST_AUTO_TEST_CASE(a_dry_run_quotes_exactly_what_the_submit_charges) {
  auto cfg = node_config();
  auto big = request(2048, 2048, 100);
  // Refused for want of kudos: the dry run names the full price, what the requester needs in hand.
  BOOST_TEST(broker::quote_for(big, registered(0), cfg)->quote.total_mk() == price_mk(big));
  // Downgraded: the dry run quotes the smaller request the submit will run.
  big.set_allow_downgrade(true);
  auto quoted = broker::quote_for(big, registered(0), cfg);
  auto admitted = broker::admit(big, registered(0), cfg);
  BOOST_REQUIRE(quoted.has_value());
  BOOST_REQUIRE(admitted.has_value());
  BOOST_TEST(quoted->quote.total_mk() == admitted->quote.total_mk());
  BOOST_TEST(quoted->request.width() == admitted->request.width());
  // And the full price for whoever has it.
  auto rich = registered(1e6);
  BOOST_TEST(broker::quote_for(big, rich, cfg)->quote.total_mk() ==
             broker::admit(big, rich, cfg)->quote.total_mk());
  BOOST_TEST(broker::quote_for(big, rich, cfg)->quote.total_mk() == price_mk(big));
}

BOOST_AUTO_TEST_SUITE_END()
