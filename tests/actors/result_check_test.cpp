#include "actors/scheduler/result_check.hpp"

#include <boost/test/unit_test.hpp>

#include "models/image/png_codec.hpp"
#include "models/image/webp_codec.hpp"
#include "test_image.hpp"

namespace crowdiff {
namespace {

using scheduling::check_result;

models::rgb_image gradient(int w, int h) {
  models::rgb_image img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<uint8_t>(i * 7 % 251);
  return img;
}

std::string bytes_of(const std::vector<uint8_t>& v) {
  return std::string(v.begin(), v.end());
}

void expect_rejected(const std::string& image, uint32_t w, uint32_t h, const std::string& why) {
  auto r = check_result(image, w, h);
  BOOST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code() == errc::invalid_argument);
  BOOST_TEST(r.error().message().find(why) != std::string::npos, r.error().message());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(result_check_suite)

BOOST_AUTO_TEST_CASE(a_real_image_of_the_jobs_size_passes_in_either_format) {
  auto png = testing::test_png(64, 48, 3);
  auto r = check_result(png, 64, 48);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(*r == "png");
  auto webp = models::encode_webp(gradient(64, 48));
  BOOST_REQUIRE(webp.has_value());
  r = check_result(bytes_of(*webp), 64, 48);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(*r == "webp");
  models::webp_options lossless;
  lossless.lossless = true;
  webp = models::encode_webp(gradient(64, 48), lossless);
  BOOST_TEST(check_result(bytes_of(*webp), 64, 48).has_value());
}

BOOST_AUTO_TEST_CASE(what_is_not_an_image_is_rejected) {
  expect_rejected("", 64, 64, "empty");
  expect_rejected("GIF89a....", 64, 64, "neither PNG nor WebP");
  expect_rejected(std::string("\x89PNG\r\n\x1a\n", 8) + "16 byte fake", 64, 64, "does not decode");
  expect_rejected(std::string("RIFF\x10\0\0\0WEBPVP8 junk", 20), 64, 64, "does not decode");
  auto png = testing::test_png(64, 64, 1);
  expect_rejected(png.substr(0, png.size() / 2), 64, 64, "does not decode");
  expect_rejected(std::string(scheduling::max_result_bytes + 1, 'x'), 64, 64, "larger than");
}

BOOST_AUTO_TEST_CASE(an_image_of_another_size_is_rejected_before_a_larger_one_is_decoded) {
  expect_rejected(testing::test_png(32, 64, 1), 64, 64, "is 32x64, the job asked for 64x64");
  expect_rejected(testing::test_png(64, 65, 1), 64, 64, "larger than the job's 64x64");
  expect_rejected(testing::test_png(65, 64, 1), 64, 64, "larger than the job's 64x64");
  // A header that claims an enormous image is refused from the header alone.
  auto png = testing::test_png(64, 64, 1);
  png[16] = 0x00;
  png[17] = 0x01;  // width 65536 + 64; the CRC no longer matches either
  expect_rejected(png, 64, 64, "rejected");
}

BOOST_AUTO_TEST_CASE(a_flat_image_is_rejected_but_a_faint_picture_is_not) {
  models::rgb_image flat;
  flat.width = 64;
  flat.height = 64;
  flat.pixels.assign(64 * 64 * 3, 17);
  expect_rejected(bytes_of(*models::encode_png(flat)), 64, 64, "flat");
  expect_rejected(bytes_of(*models::encode_webp(flat)), 64, 64, "flat");  // lossy ripples stay flat
  // Within the tolerance is still flat; one pixel beyond it is a picture.
  flat.pixels[5] = 17 + scheduling::flat_image_levels;
  expect_rejected(bytes_of(*models::encode_png(flat)), 64, 64, "flat");
  flat.pixels[5] = 17 + scheduling::flat_image_levels + 1;
  BOOST_TEST(check_result(bytes_of(*models::encode_png(flat)), 64, 64).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff
