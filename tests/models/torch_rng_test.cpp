#include "models/sampling/torch_rng.hpp"

#include <cstring>

#include <boost/test/unit_test.hpp>

#include "fixtures.hpp"

using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

BOOST_AUTO_TEST_SUITE(torch_rng_suite)

// The first outputs of MT19937 seeded with 5489 are the standard's published check values.
BOOST_AUTO_TEST_CASE(engine_is_mt19937) {
  torch_rng rng(5489);
  BOOST_TEST(rng.random() == 3499211612u);
  BOOST_TEST(rng.random() == 581869302u);
  BOOST_TEST(rng.random() == 3890346734u);
}

// Every fixture case, bit for bit: seeds, sizes below and above the 16-element switch, tails that torch
// recomputes, a 64x64 latent, and sequences of calls on one generator (cached normals carry over).
BOOST_AUTO_TEST_CASE(randn_is_bit_exact_with_torch) {
  const auto dir = t::fixtures_dir() / "torch_rng";
  const auto manifest = t::read_json(dir / "manifest.json");
  size_t cases = 0;
  size_t values = 0;
  for (const auto& c : manifest["cases"]) {
    const auto kernel = c["kernel"] == "avx2" ? torch_normal_kernel::avx2 : torch_normal_kernel::scalar;
    torch_rng rng(c["seed"].get<uint64_t>(), kernel);
    std::vector<float> produced;
    for (const auto& n : c["calls"]) {
      const auto part = rng.randn(n.get<size_t>());
      produced.insert(produced.end(), part.begin(), part.end());
    }
    const auto expected = t::read_npy(dir / c["file"].get<std::string>()).f32;
    BOOST_REQUIRE_EQUAL(produced.size(), expected.size());
    size_t mismatches = 0;
    for (size_t i = 0; i < produced.size(); ++i)
      mismatches += std::memcmp(&produced[i], &expected[i], sizeof(float)) != 0;
    BOOST_TEST(mismatches == 0u, c["file"].get<std::string>() << ": " << mismatches << " values differ");
    ++cases;
    values += produced.size();
  }
  BOOST_TEST(cases >= 100u);
  BOOST_TEST_MESSAGE("torch.randn: " << values << " values over " << cases << " cases bit-exact");
}

BOOST_AUTO_TEST_CASE(seed_uses_the_low_32_bits_like_torch) {
  torch_rng a(7);
  torch_rng b((uint64_t{1} << 32) + 7);
  BOOST_TEST(a.randn(20) == b.randn(20));
}

BOOST_AUTO_TEST_SUITE_END()
