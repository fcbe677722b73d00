#include "common/utf8.hpp"

#include <boost/test/unit_test.hpp>

using namespace crowdiff;

BOOST_AUTO_TEST_SUITE(utf8_suite)

BOOST_AUTO_TEST_CASE(accepts_well_formed_text) {
  BOOST_TEST(valid_utf8(""));
  BOOST_TEST(valid_utf8("plain ascii"));
  BOOST_TEST(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
}

BOOST_AUTO_TEST_CASE(refuses_malformed_text) {
  BOOST_TEST(!valid_utf8("\xff"));              // never a UTF-8 byte
  BOOST_TEST(!valid_utf8("\x80"));              // a stray continuation byte
  BOOST_TEST(!valid_utf8("\xc0\xaf"));          // overlong
  BOOST_TEST(!valid_utf8("\xed\xa0\x80"));      // surrogate
  BOOST_TEST(!valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  BOOST_TEST(!valid_utf8("\xe2\x82"));          // truncated
  BOOST_TEST(
      !valid_utf8("ok\xe2\x82"
                  "ok"));  // truncated in the middle
}

BOOST_AUTO_TEST_CASE(bad_bytes_become_replacement_characters) {
  BOOST_TEST(to_valid_utf8("caf\xc3\xa9") == "caf\xc3\xa9");
  BOOST_TEST(to_valid_utf8("a\xff"
                           "b") ==
             "a\xef\xbf\xbd"
             "b");
  BOOST_TEST(to_valid_utf8("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");
  BOOST_TEST(valid_utf8(to_valid_utf8("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80 ok")));
}

BOOST_AUTO_TEST_CASE(truncation_never_splits_a_character) {
  std::string_view euro = "ab\xe2\x82\xac";  // 'a', 'b', then a 3-byte character
  BOOST_TEST(truncate_utf8(euro, 10) == euro);
  BOOST_TEST(truncate_utf8(euro, 5) == euro);
  BOOST_TEST(truncate_utf8(euro, 4) == "ab");
  BOOST_TEST(truncate_utf8(euro, 3) == "ab");
  BOOST_TEST(truncate_utf8(euro, 2) == "ab");
  BOOST_TEST(truncate_utf8(euro, 0) == "");
  // Every cut of a mixed string stays valid.
  std::string_view mixed = "x\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80y";
  for (size_t n = 0; n <= mixed.size(); ++n) {
    BOOST_TEST(valid_utf8(truncate_utf8(mixed, n)));
    BOOST_TEST(truncate_utf8(mixed, n).size() <= n);
  }
}

BOOST_AUTO_TEST_SUITE_END()
