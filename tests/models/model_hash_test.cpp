#include "models/weights/model_hash.hpp"

#include <fstream>

#include <boost/test/unit_test.hpp>

#include "fixtures.hpp"
#include "models/weights/model_weights.hpp"
#include "tests/support/temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

BOOST_AUTO_TEST_SUITE(model_hash_suite)

BOOST_AUTO_TEST_CASE(sha256_of_files) {
  crowdiff::testing::temp_dir dir;
  std::ofstream(dir.path() / "abc") << "abc";
  BOOST_TEST(*sha256_file(dir.path() / "abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  {
    std::ofstream big(dir.path() / "big", std::ios::binary);
    for (int i = 0; i < 3 << 20; ++i)
      big.put(static_cast<char>(i * 7));
  }
  BOOST_TEST(sha256_file(dir.path() / "big")->size() == 64u);
  BOOST_TEST(sha256_file(dir.path() / "absent").error().code() == errc::io_error);
}

BOOST_AUTO_TEST_CASE(cache_remembers_by_path_size_and_mtime) {
  crowdiff::testing::temp_dir dir;
  const auto file = dir.path() / "w.safetensors";
  std::ofstream(file) << "abc";
  const auto cache_file = dir.path() / "hashes.json";
  {
    file_hash_cache cache(cache_file);
    BOOST_TEST(cache.sha256(file)->substr(0, 8) == "ba7816bf");
  }
  BOOST_TEST(std::filesystem::exists(cache_file));
  // A cache entry is trusted while size and mtime match, even if the bytes changed behind its back...
  const auto mtime = std::filesystem::last_write_time(file);
  std::ofstream(file) << "abd";
  std::filesystem::last_write_time(file, mtime);
  BOOST_TEST(file_hash_cache(cache_file).sha256(file)->substr(0, 8) == "ba7816bf");
  // ...and dropped when either changes.
  std::filesystem::last_write_time(file, mtime + std::chrono::seconds(5));
  BOOST_TEST(file_hash_cache(cache_file).sha256(file)->substr(0, 8) != "ba7816bf");
  // A damaged cache file only costs a re-hash.
  std::ofstream(cache_file) << "{not json";
  BOOST_TEST(file_hash_cache(cache_file).sha256(file).has_value());
}

BOOST_AUTO_TEST_CASE(model_identity_of_both_layouts) {
  const auto sd1 = t::fixtures_dir() / "sd1_tiny";
  auto single = model_weights::open(sd1 / "sd1_tiny.safetensors");
  auto folder = model_weights::open(sd1 / "diffusers");
  BOOST_REQUIRE(single && folder);
  BOOST_TEST(*model_identity(*single, nullptr) == *sha256_file(sd1 / "sd1_tiny.safetensors"));
  crowdiff::testing::temp_dir dir;
  file_hash_cache cache(dir.path() / "hashes.json");
  const auto id = model_identity(*folder, &cache);
  BOOST_REQUIRE(id);
  BOOST_TEST(id->size() == 64u);
  BOOST_TEST(*model_identity(*folder, &cache) == *id);
  BOOST_TEST(*id != *model_identity(*single, nullptr));
}

BOOST_AUTO_TEST_SUITE_END()
