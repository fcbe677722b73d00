#include <boost/test/unit_test.hpp>

#include "models/image/generation_parameters.hpp"
#include "models/image/png_codec.hpp"
#include "models/image/webp_codec.hpp"

using namespace crowdiff;
using namespace crowdiff::models;

namespace {

rgb_image gradient(int width, int height) {
  rgb_image image{width, height, {}};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        image.pixels.push_back(static_cast<uint8_t>((x * 7 + y * 3 + c * 50) & 255));
  return image;
}

std::string_view as_text(const std::vector<uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

generation_parameters sample_parameters() {
  generation_parameters p;
  p.prompt = "a cat, wearing a hat: 東京";
  p.negative_prompt = "blurry";
  p.steps = 20;
  p.sampler = "k_dpmpp_2m";
  p.karras = true;
  p.cfg_scale = 7.5;
  p.seed = 1234567890123ULL;
  p.width = 512;
  p.height = 768;
  p.model_name = "stable_diffusion";
  p.model_hash = "0123456789abcdef";
  p.denoising_strength = 0.75;
  p.clip_skip = 2;
  return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(image_codec_suite)

BOOST_AUTO_TEST_CASE(a1111_parameters_text) {
  BOOST_TEST(format_a1111_parameters(sample_parameters()) ==
             "a cat, wearing a hat: 東京\nNegative prompt: blurry\n"
             "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 1234567890123, "
             "Size: 512x768, Model hash: 0123456789, Model: stable_diffusion, Denoising strength: 0.75, Clip "
             "skip: 2");
  generation_parameters plain;
  plain.prompt = "x";
  plain.sampler = "k_euler_a";
  plain.steps = 4;
  plain.width = plain.height = 64;
  plain.model_name = "name, with comma";
  BOOST_TEST(format_a1111_parameters(plain) ==
             "x\nSteps: 4, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7, Seed: 0, Size: 64x64, "
             "Model: \"name, with comma\"");
}

BOOST_AUTO_TEST_CASE(png_round_trip_with_parameters) {
  const rgb_image image = gradient(67, 33);
  const std::string parameters = format_a1111_parameters(sample_parameters());
  auto png = encode_png(image, {{"parameters", parameters}, {"Software", "crowdiff"}});
  BOOST_REQUIRE_MESSAGE(png, png.to_status().to_string());
  auto decoded = decode_png(as_text(*png));
  BOOST_REQUIRE_MESSAGE(decoded, decoded.to_status().to_string());
  BOOST_TEST(decoded->width == 67);
  BOOST_TEST(decoded->height == 33);
  BOOST_TEST(decoded->pixels == image.pixels);
  auto text = read_png_text(as_text(*png));
  BOOST_REQUIRE(text);
  BOOST_REQUIRE_EQUAL(text->size(), 2u);
  BOOST_TEST((*text)[0].first == "parameters");
  BOOST_TEST((*text)[0].second == parameters);
  BOOST_TEST((*text)[1].second == "crowdiff");
  auto via_sniffing = decode_image(as_text(*png));
  BOOST_TEST(via_sniffing.has_value());
}

BOOST_AUTO_TEST_CASE(webp_round_trip_with_parameters) {
  const rgb_image image = gradient(40, 24);
  webp_options lossless;
  lossless.lossless = true;
  lossless.user_comment = format_a1111_parameters(sample_parameters());
  auto webp = encode_webp(image, lossless);
  BOOST_REQUIRE_MESSAGE(webp, webp.to_status().to_string());
  auto decoded = decode_image(as_text(*webp));
  BOOST_REQUIRE_MESSAGE(decoded, decoded.to_status().to_string());
  BOOST_TEST(decoded->pixels == image.pixels);
  BOOST_TEST(*read_webp_user_comment(as_text(*webp)) == lossless.user_comment);
  auto lossy = encode_webp(image, webp_options{});
  BOOST_REQUIRE(lossy);
  BOOST_TEST(read_webp_user_comment(as_text(*lossy))->empty());
  auto lossy_decoded = decode_webp(as_text(*lossy));
  BOOST_REQUIRE(lossy_decoded);
  double total = 0;
  for (size_t i = 0; i < image.pixels.size(); ++i)
    total += std::abs(int{image.pixels[i]} - int{lossy_decoded->pixels[i]});
  BOOST_TEST(total / static_cast<double>(image.pixels.size()) < 12.0);
}

BOOST_AUTO_TEST_CASE(corrupt_and_oversized_inputs_are_errors) {
  BOOST_TEST(decode_image("GIF89a....").error().code() == errc::unsupported);
  BOOST_TEST(decode_png("\x89PNG\r\n\x1a\n garbage").error().code() == errc::corruption);
  BOOST_TEST(decode_webp("RIFF\x10\0\0\0WEBPVP8 ").error().code() == errc::corruption);
  const auto png = *encode_png(gradient(64, 64));
  const std::string truncated(as_text(png).substr(0, png.size() / 2));
  BOOST_TEST(decode_png(truncated).error().code() == errc::corruption);
  std::string damaged(as_text(png));
  damaged[damaged.size() / 2] ^= 0x55;
  BOOST_TEST(!decode_png(damaged).has_value());
  image_limits small;
  small.max_width = 32;
  BOOST_TEST(decode_png(as_text(png), small).error().code() == errc::resource_exhausted);
  const auto webp = *encode_webp(gradient(64, 64));
  BOOST_TEST(decode_webp(as_text(webp), small).error().code() == errc::resource_exhausted);
  const std::string webp_truncated(as_text(webp).substr(0, webp.size() / 2));
  BOOST_TEST(!decode_webp(webp_truncated).has_value());
  BOOST_TEST(encode_png(rgb_image{2, 2, {1, 2, 3}}).error().code() == errc::invalid_argument);
  BOOST_TEST(encode_png(gradient(2, 2), {{"", "x"}}).error().code() == errc::invalid_argument);
  BOOST_TEST(encode_webp(rgb_image{}).error().code() == errc::invalid_argument);
}

// Random damage to valid files must give an error or an image, never a crash (checked under sanitizers).
BOOST_AUTO_TEST_CASE(survives_damaged_files) {
  const auto png = *encode_png(gradient(48, 40), {{"parameters", "x"}});
  const auto webp = *encode_webp(gradient(48, 40), webp_options{90.0f, false, "comment"});
  uint32_t state = 99;
  const auto next = [&state] { return state = state * 1664525u + 1013904223u; };
  // Damaged headers claim sizes up to the limits; small limits keep the test from allocating 64 MB buffers.
  image_limits limits;
  limits.max_width = limits.max_height = 256;
  limits.max_pixels = 256 * 256;
  for (const auto* original : {&png, &webp}) {
    for (int round = 0; round < 200; ++round) {
      std::string damaged(as_text(*original));
      for (int f = 0; f < 3; ++f)
        damaged[next() % damaged.size()] = static_cast<char>(next() >> 24);
      if (round % 4 == 0)
        damaged.resize(next() % damaged.size());
      auto decoded = decode_image(damaged, limits);
      if (decoded)
        BOOST_REQUIRE(decoded->valid());
      (void)read_png_text(damaged);
      (void)read_webp_user_comment(damaged);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
