#include "models/sampling/brownian_tree.hpp"

#include <cmath>

#include <boost/test/unit_test.hpp>

#include "models/sampling/seed_sequence.hpp"

using namespace crowdiff::models;

BOOST_AUTO_TEST_SUITE(brownian_tree_suite)

// Values from numpy 1.26: np.random.SeedSequence(entropy, spawn_key=..., pool_size=...).generate_state(n).
BOOST_AUTO_TEST_CASE(seed_sequence_matches_numpy) {
  BOOST_TEST(seed_sequence_state(1234, {}, 24, 3) ==
             (std::vector<uint32_t>{4280268349u, 3829106894u, 2675148735u}));
  BOOST_TEST(seed_sequence_state(1234, {5, 3}, 24, 4) ==
             (std::vector<uint32_t>{1860635963u, 869273324u, 1971674113u, 2280051663u}));
  BOOST_TEST(seed_sequence_state((uint64_t{1} << 40) + 17, {(uint64_t{1} << 33) + 1, 34}, 24, 4) ==
             (std::vector<uint32_t>{128757757u, 3580165998u, 3247532797u, 1637886532u}));
  BOOST_TEST(seed_sequence_state(0, {}, 4, 4) ==
             (std::vector<uint32_t>{2968811710u, 3677149159u, 745650761u, 2884920346u}));
}

// A Brownian motion: increments add up over adjacent intervals, do not depend on the order of queries, and
// have variance equal to the interval length.
BOOST_AUTO_TEST_CASE(behaves_like_brownian_motion) {
  const size_t n = 4096;
  brownian_tree first(0.03, 14.6, n, 42);
  brownian_tree second(0.03, 14.6, n, 42);
  std::vector<float> ab(n), bc(n), ac(n), ac_again(n);
  first.increment(0.5, 2.0, ab);
  first.increment(2.0, 7.25, bc);
  first.increment(0.5, 7.25, ac);
  second.increment(0.5, 7.25, ac_again);
  double worst = 0;
  double sum_sq = 0;
  for (size_t i = 0; i < n; ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(ab[i] + bc[i] - ac[i])));
    sum_sq += static_cast<double>(ab[i]) * ab[i];
  }
  BOOST_TEST(worst < 1e-5);
  BOOST_TEST(ac == ac_again);
  BOOST_TEST(sum_sq / n == 1.5, boost::test_tools::tolerance(0.08));
  std::vector<float> empty(n, 1.0f);
  first.increment(3.0, 3.0, empty);
  BOOST_TEST(empty == std::vector<float>(n, 0.0f));
}

BOOST_AUTO_TEST_CASE(noise_sampler_has_unit_variance) {
  const size_t n = 4096;
  const noise_fn noise = brownian_tree_noise(0.0292, 14.6146, n, 7);
  std::vector<float> out(n);
  noise(1.27, 0.75, out);
  double sum_sq = 0;
  for (float v : out)
    sum_sq += static_cast<double>(v) * v;
  BOOST_TEST(sum_sq / n == 1.0, boost::test_tools::tolerance(0.08));
}

BOOST_AUTO_TEST_SUITE_END()
