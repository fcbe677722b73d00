#include "models/sampling/samplers.hpp"

#include <cmath>

#include <boost/test/unit_test.hpp>

#include "fixtures.hpp"
#include "models/sampling/noise_schedule.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

namespace {

// The ideal denoiser for data x0 ~ N(mu_i, s^2) per element: E[x0 | x] = mu + s^2 / (s^2 + sigma^2) (x - mu).
denoise_fn gaussian_denoiser(std::vector<float> mu, double s, int* calls = nullptr) {
  return [mu = std::move(mu), s, calls](std::span<const float> x, double sigma, std::span<float> out) {
    if (calls != nullptr)
      ++*calls;
    const double k = s * s / (s * s + sigma * sigma);
    for (size_t i = 0; i < x.size(); ++i)
      out[i] = static_cast<float>(mu[i] + k * (static_cast<double>(x[i]) - mu[i]));
    return status::ok();
  };
}

std::vector<float> fixture_mu(size_t n) {
  std::vector<float> mu(n);
  for (size_t i = 0; i < n; ++i)
    mu[i] = static_cast<float>(-1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(n - 1));
  return mu;
}

constexpr sampler_kind all_samplers[] = {
    sampler_kind::euler,     sampler_kind::euler_a, sampler_kind::heun,     sampler_kind::dpm_2,
    sampler_kind::dpm_2_a,   sampler_kind::lms,     sampler_kind::dpmpp_2m, sampler_kind::dpmpp_2s_a,
    sampler_kind::dpmpp_sde, sampler_kind::ddim,    sampler_kind::lcm,
};

}  // namespace

BOOST_AUTO_TEST_SUITE(samplers_suite)

BOOST_AUTO_TEST_CASE(horde_names) {
  for (sampler_kind kind : all_samplers)
    BOOST_TEST((*sampler_from_horde_name(horde_name(kind)) == kind));
  BOOST_TEST(sampler_from_horde_name("k_dpm_fast").error().code() == errc::unsupported);
  BOOST_TEST(sampler_from_horde_name("k_nonsense").error().code() == errc::invalid_argument);
}

// Every sampler against k-diffusion's own run on the same closed-form denoiser, same initial noise and (for
// stochastic samplers) the same noise: a torch generator stream, or for k_dpmpp_sde also k-diffusion's
// BrownianTree.
BOOST_AUTO_TEST_CASE(match_k_diffusion_on_a_gaussian_denoiser) {
  const auto dir = t::fixtures_dir() / "samplers_toy";
  const auto manifest = t::read_json(dir / "manifest.json");
  const size_t n = manifest["size"].get<size_t>();
  const discrete_schedule schedule;
  size_t compared = 0;
  for (const auto& c : manifest["cases"]) {
    const sampler_kind kind = *sampler_from_horde_name(c["sampler"].get<std::string>());
    // The run uses k-diffusion's float32 levels exactly (ours agree to 1e-6 relative): a Brownian tree
    // rounds its query times to 6 decimals, so it needs the same float32 values.
    const auto sigmas = c["sigmas"].get<std::vector<double>>();
    const auto ours =
        make_sigmas(schedule, c["schedule"] == "karras" ? sigma_schedule::karras : sigma_schedule::normal,
                    c["steps"].get<int>());
    BOOST_REQUIRE_EQUAL(ours.size(), sigmas.size());
    for (size_t i = 0; i < ours.size(); ++i)
      BOOST_TEST(ours[i] == sigmas[i], boost::test_tools::tolerance(1e-6));
    const uint64_t seed = c["seed"].get<uint64_t>();
    std::vector<float> x = torch_rng(seed).randn(n);
    for (float& v : x)
      v *= static_cast<float>(sigmas[0]);
    const noise_fn noise =
        c["noise"] == "brownian_tree" ? comfyui_noise(kind, sigmas, n, seed) : torch_noise(seed);
    const auto st =
        sample(kind, gaussian_denoiser(fixture_mu(n), manifest["s"].get<double>()), x, sigmas, noise);
    BOOST_REQUIRE_MESSAGE(st, st.to_string());
    const auto expected = t::read_npy(dir / c["file"].get<std::string>()).f32;
    double worst = 0;
    for (size_t i = 0; i < n; ++i)
      worst =
          std::max(worst, std::abs(static_cast<double>(x[i]) - expected[i]) / (1.0 + std::abs(expected[i])));
    BOOST_TEST(worst < 2e-5, c["file"].get<std::string>() << ": relative error " << worst);
    ++compared;
  }
  BOOST_TEST(compared == 24u);
}

// Deterministic samplers integrate the probability-flow ODE, whose exact solution for Gaussian data is
// x(sigma) = mu + (x_T - mu) * sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma_T^2). Every sampler ends with a
// first-order jump from the last nonzero sigma to 0 (landing on the denoised estimate), so the reference
// is the exact solution down to that sigma, then denoised. Errors must be small and shrink with the
// sampler's order when the steps double (k-diffusion itself gives the same errors: 0.044 for Euler and
// 0.0023 for Heun at 60 Karras steps).
double ode_error(sampler_kind kind, int steps, int* calls) {
  const size_t n = 256;
  const double s = 0.5;
  const auto sigmas = make_sigmas(discrete_schedule(), sigma_schedule::karras, steps);
  const std::vector<float> mu = fixture_mu(n);
  std::vector<float> start = torch_rng(3).randn(n);
  for (float& e : start)
    e *= static_cast<float>(sigmas[0]);
  const double last = sigmas[sigmas.size() - 2];
  const double shrink = std::sqrt(s * s + last * last) / std::sqrt(s * s + sigmas[0] * sigmas[0]) *
                        (s * s / (s * s + last * last));
  std::vector<float> x = start;
  BOOST_REQUIRE(sample(kind, gaussian_denoiser(mu, s, calls), x, sigmas));
  double worst = 0;
  for (size_t i = 0; i < n; ++i)
    worst = std::max(worst, std::abs(x[i] - (mu[i] + (start[i] - mu[i]) * shrink)));
  return worst;
}

BOOST_AUTO_TEST_CASE(deterministic_samplers_solve_the_ode) {
  struct expectation {
    sampler_kind kind;
    double error_at_60;
    double min_ratio;  // error(30 steps) / error(60 steps)
  };
  // LMS's last step to sigma 0 is a multistep extrapolation, not the jump to the estimate the reference
  // assumes, so its error does not shrink with steps here (k-diffusion: 1.8e-4 at 30 steps, 2.4e-3 at 60).
  const expectation cases[] = {
      {sampler_kind::euler, 0.05, 1.8}, {sampler_kind::ddim, 0.05, 1.8}, {sampler_kind::heun, 3e-3, 3.5},
      {sampler_kind::dpm_2, 3e-3, 3.5}, {sampler_kind::lms, 3e-3, 0.0},  {sampler_kind::dpmpp_2m, 3e-3, 3.5},
  };
  for (const auto& c : cases) {
    int calls = 0;
    const double coarse = ode_error(c.kind, 30, nullptr);
    const double fine = ode_error(c.kind, 60, &calls);
    BOOST_TEST(fine < c.error_at_60, horde_name(c.kind) << ": ODE error " << fine);
    BOOST_TEST(coarse / fine > c.min_ratio, horde_name(c.kind) << ": error ratio " << coarse / fine);
    const bool two_calls = c.kind == sampler_kind::heun || c.kind == sampler_kind::dpm_2;
    BOOST_TEST(calls == (two_calls ? 2 * 60 - 1 : 60), horde_name(c.kind) << " calls");
  }
}

// Started from the noised data distribution N(mu, s^2 + sigma_max^2), samplers should end with the data's
// moments, mean mu and standard deviation s. LCM is the exception: it re-noises the denoised *mean*, so with
// this (MMSE) denoiser its variance follows v' = k^2 v + sigma_next^2 with k = s^2 / (s^2 + sigma^2).
BOOST_AUTO_TEST_CASE(samples_have_the_data_moments) {
  const size_t n = 8192;
  const double mu = 0.3;
  const double s = 0.5;
  const discrete_schedule schedule;
  const auto sigmas = make_sigmas(schedule, sigma_schedule::karras, 100);
  for (sampler_kind kind : all_samplers) {
    std::vector<float> x = torch_rng(11).randn(n);
    for (float& v : x)
      v = static_cast<float>(v * std::sqrt(sigmas[0] * sigmas[0] + s * s) + mu);
    BOOST_REQUIRE(sample(kind, gaussian_denoiser(std::vector<float>(n, static_cast<float>(mu)), s), x, sigmas,
                         torch_noise(5)));
    double sum = 0;
    double sum_sq = 0;
    for (float v : x) {
      sum += v;
      sum_sq += static_cast<double>(v) * v;
    }
    const double mean = sum / n;
    const double std_dev = std::sqrt(sum_sq / n - mean * mean);
    double expected_std = s;
    if (kind == sampler_kind::lcm) {
      double variance = sigmas[0] * sigmas[0] + s * s;
      for (size_t i = 0; i + 1 < sigmas.size(); ++i) {
        const double k = s * s / (s * s + sigmas[i] * sigmas[i]);
        variance = k * k * variance + sigmas[i + 1] * sigmas[i + 1];
      }
      expected_std = std::sqrt(variance);
    }
    BOOST_TEST(std::abs(mean - mu) < 0.03, horde_name(kind) << ": mean " << mean);
    BOOST_TEST(std::abs(std_dev - expected_std) < 0.03,
               horde_name(kind) << ": std " << std_dev << " expected " << expected_std);
  }
}

BOOST_AUTO_TEST_CASE(bad_arguments_and_denoiser_errors) {
  std::vector<float> x(4, 0.0f);
  const auto toy = gaussian_denoiser(std::vector<float>(4, 0.0f), 1.0);
  BOOST_TEST(sample(sampler_kind::euler, toy, x, std::vector<double>{1.0}).code() == errc::invalid_argument);
  BOOST_TEST(sample(sampler_kind::euler, toy, x, std::vector<double>{1.0, -1.0}).code() ==
             errc::invalid_argument);
  BOOST_TEST(sample(sampler_kind::euler_a, toy, x, std::vector<double>{1.0, 0.0}).code() ==
             errc::invalid_argument);
  int calls = 0;
  const denoise_fn failing = [&](std::span<const float>, double, std::span<float>) {
    return ++calls == 2 ? status{errc::generation_failed, "out of memory"} : status::ok();
  };
  BOOST_TEST(sample(sampler_kind::heun, failing, x, std::vector<double>{2.0, 1.0, 0.0}).code() ==
             errc::generation_failed);
  BOOST_TEST(calls == 2);
}

// Every sampler tells its observer after each step, and stops with the observer's error (a pipeline's
// cancellation) without further model calls.
BOOST_AUTO_TEST_CASE(observers_see_every_step_and_can_stop) {
  const discrete_schedule schedule;
  const auto sigmas = make_sigmas(schedule, sigma_schedule::normal, 6);
  for (sampler_kind kind : all_samplers) {
    std::vector<float> x = torch_rng(3).randn(16);
    std::vector<size_t> seen;
    sampler_options options;
    options.on_step = [&](size_t done, size_t total) {
      BOOST_TEST(total == 6u);
      seen.push_back(done);
      return status::ok();
    };
    BOOST_REQUIRE(sample(kind, gaussian_denoiser(fixture_mu(16), 0.5), x, sigmas, torch_noise(3), options));
    BOOST_TEST(seen == (std::vector<size_t>{1, 2, 3, 4, 5, 6}), horde_name(kind));

    int calls = 0;
    int calls_at_stop = -1;
    options.on_step = [&](size_t done, size_t) {
      calls_at_stop = calls;
      return done == 2 ? status{errc::cancelled, "stop"} : status::ok();
    };
    const status st =
        sample(kind, gaussian_denoiser(fixture_mu(16), 0.5, &calls), x, sigmas, torch_noise(3), options);
    BOOST_TEST(st.code() == errc::cancelled, horde_name(kind));
    BOOST_TEST(calls == calls_at_stop, horde_name(kind));
  }
}

BOOST_AUTO_TEST_SUITE_END()
