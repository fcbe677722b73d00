#include "actors/broker/request_validation.hpp"

#include <boost/test/unit_test.hpp>

#include "config/node_config.hpp"

using namespace crowdiff;

BOOST_AUTO_TEST_SUITE(request_validation_suite)

BOOST_AUTO_TEST_CASE(accepts_a_good_request_and_names_the_bad_field) {
  auto limits = config::with_defaults({}).limits();
  std::set<std::string> known{"stable_diffusion"};
  v1::JobRequest r;
  r.set_prompt("a cat");
  r.set_steps(20);
  r.set_width(512);
  r.set_height(768);
  r.set_n(1);
  r.set_cfg_scale(7);
  r.add_models("stable_diffusion");
  BOOST_TEST(broker::validate_request(r, limits, known).is_ok());
  r.set_clip_skip(13);
  BOOST_TEST(broker::validate_request(r, limits, known).message().find("clip_skip") != std::string::npos);
  r.set_clip_skip(2);
  r.add_worker_allow(std::string(200, 'x'));
  BOOST_TEST(broker::validate_request(r, limits, known).message().find("worker_allow") != std::string::npos);
  r.clear_worker_allow();
  r.set_expiry_s(100'000);
  BOOST_TEST(broker::validate_request(r, limits, known).message().find("expiry_s") != std::string::npos);
  r.set_expiry_s(0);
  r.set_seed_variation(1001);
  BOOST_TEST(broker::validate_request(r, limits, known).message().find("seed_variation") !=
             std::string::npos);
  r.set_seed_variation(1000);
  BOOST_TEST(broker::validate_request(r, limits, known).is_ok());
  r.set_seed_variation(0);
  r.set_source_image(std::string("\x89PNG\r\n\x1a\n", 8) + "data");
  r.set_denoising_strength(0.6f);
  BOOST_TEST(broker::validate_request(r, limits, known).is_ok());
  r.set_denoising_strength(1.5f);
  BOOST_TEST(broker::validate_request(r, limits, known).message().find("denoising_strength") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
