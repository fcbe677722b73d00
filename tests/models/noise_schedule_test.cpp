#include "models/sampling/noise_schedule.hpp"

#include <cmath>

#include <boost/test/unit_test.hpp>

#include "fixtures.hpp"
#include "models/sampling/denoiser.hpp"

using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

BOOST_AUTO_TEST_SUITE(noise_schedule_suite)

BOOST_AUTO_TEST_CASE(matches_k_diffusion_schedules) {
  const auto manifest = t::read_json(t::fixtures_dir() / "schedules.json");
  const discrete_schedule schedule;
  BOOST_TEST(schedule.sigma_min() == manifest["sigma_min"].get<double>(),
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(schedule.sigma_max() == manifest["sigma_max"].get<double>(),
             boost::test_tools::tolerance(1e-12));
  for (const auto& c : manifest["schedules"]) {
    const auto kind = c["kind"] == "karras" ? sigma_schedule::karras : sigma_schedule::normal;
    const auto sigmas = make_sigmas(schedule, kind, c["steps"].get<int>());
    const auto expected = c["sigmas"].get<std::vector<double>>();
    BOOST_REQUIRE_EQUAL(sigmas.size(), expected.size());
    for (size_t i = 0; i < sigmas.size(); ++i)
      BOOST_TEST(sigmas[i] == expected[i], boost::test_tools::tolerance(1e-6));
  }
  for (const auto& c : manifest["sigma_to_t"])
    BOOST_TEST(schedule.sigma_to_t(c["sigma"].get<double>(), false) == c["t"].get<double>(),
               boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(timesteps_round_trip_and_quantize) {
  const discrete_schedule schedule;
  for (double t : {0.0, 1.0, 37.25, 500.0, 998.5, 999.0})
    BOOST_TEST(schedule.sigma_to_t(schedule.t_to_sigma(t), false) == t, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(schedule.sigma_to_t(schedule.t_to_sigma(37.4), true) == 37.0);
  BOOST_TEST(schedule.sigma_to_t(schedule.t_to_sigma(37.6), true) == 38.0);
}

BOOST_AUTO_TEST_CASE(img2img_starts_part_way) {
  const discrete_schedule schedule;
  const auto full = make_sigmas(schedule, sigma_schedule::normal, 8);  // int(5 / 0.6) = 8
  const auto part = make_img2img_sigmas(schedule, sigma_schedule::normal, 5, 0.6);
  BOOST_REQUIRE_EQUAL(part.size(), 6u);
  BOOST_TEST(part.front() == full[3]);
  BOOST_TEST(part.back() == 0.0);
  BOOST_TEST(make_img2img_sigmas(schedule, sigma_schedule::karras, 5, 1.0) ==
             make_sigmas(schedule, sigma_schedule::karras, 5));
  const auto ddim = make_sigmas(schedule, sigma_schedule::ddim_uniform, 10);
  BOOST_TEST(ddim.size() == 11u);
  BOOST_TEST(ddim[9] == schedule.sigmas()[1]);
  BOOST_TEST(ddim[0] == schedule.sigmas()[901]);
}

BOOST_AUTO_TEST_CASE(initial_latent_and_model_conversions) {
  std::vector<float> noise{1.0f, -2.0f};
  const std::vector<float> source{0.5f, 0.5f};
  make_initial_latent(noise, source, 2.0, false);
  BOOST_TEST(noise == (std::vector<float>{2.5f, -3.5f}));
  std::vector<float> full{1.0f};
  make_initial_latent(full, {}, 3.0, true);
  BOOST_TEST(full[0] == std::sqrt(10.0f), boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(model_input_scale(0.0) == 1.0);
  std::vector<float> x{1.0f}, out{0.0f};
  const std::vector<float> eps{0.5f};
  denoised_from_model_output(prediction_type::epsilon, x, 2.0, eps, out);
  BOOST_TEST(out[0] == 0.0f);
  // v-prediction: for x = x0 + sigma * n and v = (n - sigma * x0) / sqrt(sigma^2 + 1), the estimate is x0.
  const double x0 = 0.3;
  const double n = -1.1;
  const double sigma = 1.7;
  const std::vector<float> xv{static_cast<float>(x0 + sigma * n)};
  const std::vector<float> v{static_cast<float>((n - sigma * x0) / std::sqrt(sigma * sigma + 1))};
  denoised_from_model_output(prediction_type::v_prediction, xv, sigma, v, out);
  BOOST_TEST(out[0] == x0, boost::test_tools::tolerance(1e-6));
  std::vector<float> guided(1);
  classifier_free_guidance(std::vector<float>{2.0f}, std::vector<float>{1.0f}, 7.5, guided);
  BOOST_TEST(guided[0] == 8.5f);
}

BOOST_AUTO_TEST_SUITE_END()
