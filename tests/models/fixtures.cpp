#include "fixtures.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>

namespace crowdiff::models::testing {

std::filesystem::path fixtures_dir() {
  // A prebuilt test program run in another checkout (scripts/gpu-check.sh's bundle) is told where they are.
  if (const char* dir = std::getenv("CROWDIFF_FIXTURES_DIR"); dir != nullptr && *dir != '\0')
    return dir;
  return CROWDIFF_FIXTURES_DIR;
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

nlohmann::json read_json(const std::filesystem::path& path) {
  return nlohmann::json::parse(read_bytes(path));
}

npy_array read_npy(const std::filesystem::path& path) {
  const std::string bytes = read_bytes(path);
  BOOST_REQUIRE_MESSAGE(bytes.size() > 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, path << " is not .npy");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0;
  size_t offset = 0;
  if (major == 1) {
    header_len =
        static_cast<unsigned char>(bytes[8]) | static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
    offset = 10;
  } else {
    for (int i = 3; i >= 0; --i)
      header_len = header_len << 8 | static_cast<unsigned char>(bytes[8 + static_cast<size_t>(i)]);
    offset = 12;
  }
  const std::string header = bytes.substr(offset, header_len);
  const size_t data = offset + header_len;
  BOOST_REQUIRE(header.find("'fortran_order': False") != std::string::npos);
  const size_t descr_at = header.find("'descr': '") + 10;
  const std::string descr = header.substr(descr_at, header.find('\'', descr_at) - descr_at);
  npy_array out;
  const size_t shape_at = header.find("'shape': (") + 10;
  std::istringstream dims(header.substr(shape_at, header.find(')', shape_at) - shape_at));
  std::string dim;
  size_t count = 1;
  while (std::getline(dims, dim, ','))
    if (dim.find_first_not_of(' ') != std::string::npos) {
      out.shape.push_back(std::stoll(dim));
      count *= static_cast<size_t>(out.shape.back());
    }
  const char* p = bytes.data() + data;
  if (descr == "<f4") {
    BOOST_REQUIRE(bytes.size() >= data + count * 4);
    out.f32.resize(count);
    std::memcpy(out.f32.data(), p, count * 4);
  } else if (descr == "<i4") {
    std::vector<int32_t> v(count);
    std::memcpy(v.data(), p, count * 4);
    out.ints.assign(v.begin(), v.end());
  } else if (descr == "<i8") {
    out.ints.resize(count);
    std::memcpy(out.ints.data(), p, count * 8);
  } else {
    BOOST_FAIL("unsupported npy dtype " << descr << " in " << path);
  }
  return out;
}

}  // namespace crowdiff::models::testing
