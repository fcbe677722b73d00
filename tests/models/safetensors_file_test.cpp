#include "models/weights/safetensors_file.hpp"

#include <cstring>
#include <fstream>

#include <boost/test/unit_test.hpp>

#include "fixtures.hpp"
#include "tests/support/temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

namespace {

// A file image: 8-byte little-endian header length, the header, then `data_bytes` bytes of data.
std::string make_file(const std::string& header, size_t data_bytes, char fill = 0) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
  out += header;
  out.append(data_bytes, fill);
  return out;
}

result<safetensors_file> parse(const std::string& header, size_t data_bytes) {
  return safetensors_file::parse(make_file(header, data_bytes), "test");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors_file_suite)

BOOST_AUTO_TEST_CASE(parses_views_and_metadata) {
  std::string bytes = make_file(
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2,3],"data_offsets":[16,28]},)"
      R"("a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"s":{"dtype":"BF16","shape":[],"data_offsets":[28,30]}})",
      30);
  const float values[4] = {1.0f, -2.0f, 3.5f, 0.25f};
  std::memcpy(bytes.data() + bytes.size() - 30, values, sizeof values);
  auto file = safetensors_file::parse(bytes, "mem");
  BOOST_REQUIRE_MESSAGE(file, file.to_status().to_string());
  BOOST_TEST(file->tensors().size() == 3u);
  BOOST_TEST(file->metadata().at("format") == "pt");
  auto a = file->find("a");
  BOOST_REQUIRE(a);
  BOOST_TEST((a->type == kernels::dtype::f32));
  BOOST_TEST(a->shape == std::vector<int64_t>{4});
  BOOST_TEST(a->bytes == 16u);
  float third = 0;  // data is only as aligned as the file lays it out: copy, never cast
  std::memcpy(&third, static_cast<const char*>(a->data) + 8, sizeof third);
  BOOST_TEST(third == 3.5f);
  BOOST_TEST((file->find("b")->type == kernels::dtype::f16));
  BOOST_TEST(file->find("s")->numel() == 1);
  BOOST_TEST(file->find("missing").error().code() == errc::not_found);
}

BOOST_AUTO_TEST_CASE(rejects_malformed_headers) {
  const auto code = [](const std::string& header, size_t data) { return parse(header, data).error().code(); };
  BOOST_TEST(safetensors_file::parse("abc", "x").error().code() == errc::corruption);
  BOOST_TEST(code("not json", 0) == errc::corruption);
  BOOST_TEST(code("[1,2]", 0) == errc::corruption);
  BOOST_TEST(code(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8) ==
             errc::corruption);  // past end
  BOOST_TEST(code(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16) ==
             errc::corruption);  // size
  BOOST_TEST(code(R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", 16) == errc::corruption);
  BOOST_TEST(code(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})", 16) == errc::corruption);
  BOOST_TEST(code(R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}})", 4) == errc::corruption);
  BOOST_TEST(code(R"({"a":{"dtype":"F32","shape":[4]}})", 16) == errc::corruption);
  BOOST_TEST(code(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                  12) == errc::corruption);  // overlap
  BOOST_TEST(code(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}})", 4) ==
             errc::corruption);  // overflowing shape
  // A header length larger than the file.
  std::string bytes = make_file("{}", 0);
  bytes[0] = 100;
  BOOST_TEST(safetensors_file::parse(bytes, "x").error().code() == errc::corruption);
  // Over the header size limit.
  safetensors_limits limits;
  limits.max_header_bytes = 4;
  BOOST_TEST(safetensors_file::parse(make_file("{     }", 0), "x", limits).error().code() ==
             errc::resource_exhausted);
}

BOOST_AUTO_TEST_CASE(errors_name_the_tensor) {
  auto bad = parse(R"({"unet.conv_in.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16);
  BOOST_TEST(bad.error().message().find("unet.conv_in.weight") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unsupported_dtypes_are_listed_and_refused_on_lookup) {
  auto file = parse(R"({"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
                    R"("i":{"dtype":"I64","shape":[2],"data_offsets":[16,32]}})",
                    32);
  BOOST_REQUIRE(file);
  BOOST_TEST(file->unsupported().at("d") == "F64");
  const auto d = file->find("d");
  BOOST_TEST(d.error().code() == errc::unsupported);
  BOOST_TEST(d.error().message().find("F64") != std::string::npos);
  BOOST_TEST((file->find("i")->type == kernels::dtype::i64));
}

BOOST_AUTO_TEST_CASE(maps_files_and_refuses_pickles) {
  crowdiff::testing::temp_dir dir;
  const auto path = dir.path() / "w.safetensors";
  {
    std::ofstream out(path, std::ios::binary);
    out << make_file(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4, '\x3c');
  }
  auto file = safetensors_file::open(path);
  BOOST_REQUIRE_MESSAGE(file, file.to_status().to_string());
  BOOST_TEST(static_cast<const unsigned char*>(file->find("a")->data)[0] == 0x3c);
  safetensors_file moved = std::move(*file);
  BOOST_TEST(moved.find("a")->bytes == 4u);
  for (const char* name : {"model.ckpt", "model.pt", "pytorch_model.bin", "x.PTH"}) {
    std::ofstream(dir.path() / name) << "pickle";
    const auto refused = safetensors_file::open(dir.path() / name);
    BOOST_TEST(refused.error().code() == errc::unsupported);
    BOOST_TEST(refused.error().message().find("pickle") != std::string::npos);
  }
  BOOST_TEST(safetensors_file::open(dir.path() / "absent.safetensors").error().code() == errc::io_error);
  std::ofstream(dir.path() / "empty.safetensors");
  BOOST_TEST(safetensors_file::open(dir.path() / "empty.safetensors").error().code() == errc::corruption);
}

// Damaged real files: flipped header bytes must give an error or a still-consistent file, never a crash
// (run under CROWDIFF_SANITIZE to check for out-of-bounds reads).
BOOST_AUTO_TEST_CASE(survives_damaged_headers) {
  const std::string original = t::read_bytes(t::fixtures_dir() / "sd1_tiny" / "diffusers" / "vae" /
                                             "diffusion_pytorch_model.safetensors");
  uint32_t state = 12345;
  const auto next = [&state] { return state = state * 1664525u + 1013904223u; };
  size_t rejected = 0;
  for (int round = 0; round < 300; ++round) {
    std::string damaged = original;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int f = 0; f < flips; ++f)
      damaged[next() % 4096] = static_cast<char>(next() >> 24);
    auto file = safetensors_file::parse(damaged, "damaged");
    if (!file) {
      ++rejected;
      continue;
    }
    for (const auto& view : file->tensors()) {
      const char* begin = static_cast<const char*>(view.data);
      BOOST_REQUIRE(view.bytes == static_cast<size_t>(view.numel()) * kernels::dtype_size(view.type));
      BOOST_REQUIRE(view.bytes == 0 || begin[view.bytes - 1] == begin[view.bytes - 1]);
    }
  }
  BOOST_TEST(rejected > 100u);
}

BOOST_AUTO_TEST_SUITE_END()
