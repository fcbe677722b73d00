#include "actors/ledger/pricing.hpp"

#include <boost/test/unit_test.hpp>

#include "config/node_config.hpp"

using namespace crowdiff;

BOOST_AUTO_TEST_SUITE(pricing_suite)

BOOST_AUTO_TEST_CASE(price_follows_the_documented_formula) {
  auto cfg = config::with_defaults({}).ledger();
  v1::JobRequest r;
  r.set_width(512);
  r.set_height(512);
  r.set_steps(50);
  r.set_n(2);
  r.set_sampler(v1::K_EULER);
  auto q = ledger::quote(r, cfg);
  BOOST_REQUIRE(q.has_value());
  BOOST_TEST(q->megapixel_steps() == 512.0 * 512 * 50 / 1e6, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(q->value_per_image_mk() == 10'486);  // 13.1072 MPS * 0.8
  BOOST_TEST(q->price_per_image_mk() == 11'486);  // + 1 kudos fee
  BOOST_TEST(q->total_mk() == 22'972);
}

BOOST_AUTO_TEST_CASE(second_order_samplers_count_twice_and_img2img_counts_what_runs) {
  auto cfg = config::with_defaults({}).ledger();
  v1::JobRequest r;
  r.set_width(512);
  r.set_height(512);
  r.set_steps(20);
  r.set_sampler(v1::K_EULER_A);
  double first = ledger::megapixel_steps(r);
  r.set_sampler(v1::K_HEUN);
  BOOST_TEST(ledger::megapixel_steps(r) == 2 * first);
  r.set_sampler(v1::K_DPMPP_SDE);
  BOOST_TEST(ledger::megapixel_steps(r) == 2 * first);
  r.set_sampler(v1::K_EULER);
  r.set_source_image("x");
  r.set_denoising_strength(0.5f);
  BOOST_TEST(ledger::effective_steps(r) == 10u);
  r.set_denoising_strength(0.01f);
  BOOST_TEST(ledger::effective_steps(r) == 1u);
  r.set_steps(0);
  BOOST_TEST(!ledger::quote(r, cfg).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
