#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

// Test helpers for the committed fixtures in tests/fixtures (made by tools/make_fixtures.py).
namespace crowdiff::models::testing {

/// tests/fixtures, wherever the build runs; $CROWDIFF_FIXTURES_DIR when set (a program built elsewhere).
std::filesystem::path fixtures_dir();

/// A parsed JSON file; fails the test when unreadable.
nlohmann::json read_json(const std::filesystem::path& path);

/// A little-endian C-order .npy array, values converted to the requested type.
struct npy_array {
  std::vector<int64_t> shape;
  std::vector<float> f32;     ///< For float arrays.
  std::vector<int64_t> ints;  ///< For integer arrays.
};
npy_array read_npy(const std::filesystem::path& path);

/// The whole file as bytes.
std::string read_bytes(const std::filesystem::path& path);

}  // namespace crowdiff::models::testing
