#include "models/text/clip_tokenizer.hpp"

#include <fstream>

#include <boost/test/unit_test.hpp>

#include "fixtures.hpp"
#include "models/text/prompt_chunks.hpp"
#include "models/text/text_normalizer.hpp"
#include "tests/support/temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

namespace {

const clip_tokenizer& standard() {
  static const clip_tokenizer tokenizer = [] {
    auto loaded = clip_tokenizer::standard();
    BOOST_REQUIRE_MESSAGE(loaded, loaded.to_status().to_string());
    return std::move(*loaded);
  }();
  return tokenizer;
}

std::vector<int32_t> ids(const nlohmann::json& list) {
  return list.get<std::vector<int32_t>>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(clip_tokenizer_suite)

BOOST_AUTO_TEST_CASE(standard_vocabulary_is_clips) {
  const auto& tok = standard();
  BOOST_TEST(tok.vocab_size() == 49408u);
  BOOST_TEST(tok.bos() == 49406);
  BOOST_TEST(tok.eos() == 49407);
  BOOST_TEST(tok.token_id("!") == 0);
  BOOST_TEST(tok.encode("a photograph of an astronaut riding a horse") ==
             (std::vector<int32_t>{320, 8853, 539, 550, 18376, 6765, 320, 4558}));
}

// Token for token what HF CLIPTokenizer gives on the fixture prompts (unicode, emoji, HTML entities,
// punctuation, contractions, whitespace, special-token text, very long prompts), with both vocabularies.
BOOST_AUTO_TEST_CASE(matches_the_reference_tokenizer) {
  const auto dir = t::fixtures_dir() / "tokenizer";
  auto from_files = clip_tokenizer::from_files(dir / "vocab.json", dir / "merges.txt");
  BOOST_REQUIRE_MESSAGE(from_files, from_files.to_status().to_string());
  const auto manifest = t::read_json(dir / "tokens.json");
  for (const auto& c : manifest["cases"]) {
    const auto prompt = split_horde_prompt(c["prompt"].get<std::string>());
    BOOST_TEST(prompt.positive == c["positive"].get<std::string>());
    BOOST_TEST(prompt.negative == c["negative"].get<std::string>());
    const auto expected = ids(c["ids"]);
    BOOST_TEST(standard().encode(prompt.positive) == expected, "prompt: " << c["prompt"]);
    BOOST_TEST(from_files->encode(prompt.positive) == expected, "prompt: " << c["prompt"]);
    BOOST_TEST(standard().encode(prompt.negative) == ids(c["negative_ids"]), "negative: " << c["prompt"]);
    const auto sd1 = chunk_tokens(expected, 49406, 49407, 49407);
    const auto sd2 = chunk_tokens(expected, 49406, 49407, 0);
    BOOST_TEST(nlohmann::json(sd1.rows) == c["sd1_chunks"], "prompt: " << c["prompt"]);
    BOOST_TEST(nlohmann::json(sd2.rows) == c["sd2_chunks"], "prompt: " << c["prompt"]);
  }
}

BOOST_AUTO_TEST_CASE(chunks_of_75) {
  std::vector<int32_t> tokens(160, 7);
  const auto chunks = chunk_tokens(tokens, 1, 2, 0);
  BOOST_REQUIRE_EQUAL(chunks.rows.size(), 3u);
  for (const auto& row : chunks.rows) {
    BOOST_TEST(row.size() == 77u);
    BOOST_TEST(row.front() == 1);
  }
  BOOST_TEST(chunks.rows[0][76] == 2);
  BOOST_TEST(chunks.rows[2][11] == 2);  // 10 tokens left: bos, 10, eos
  BOOST_TEST(chunks.rows[2][12] == 0);
  BOOST_TEST(chunk_tokens(std::vector<int32_t>(75, 7), 1, 2, 0).rows.size() == 1u);
  BOOST_TEST(chunk_tokens({}, 1, 2, 0).rows.size() == 1u);
  auto negative = chunk_tokens({}, 1, 2, 0);
  auto positive = chunks;
  equalize_chunk_counts(positive, negative, 1, 2, 0);
  BOOST_TEST(negative.rows.size() == 3u);
  BOOST_TEST(negative.rows[2][1] == 2);
}

BOOST_AUTO_TEST_CASE(text_cleanup) {
  BOOST_TEST(encode_utf8(clip_clean_text("  A&amp;amp;B \t\n C  ")) == "a&b c");
  BOOST_TEST(encode_utf8(clip_clean_text("&#x263A;&#65;&copy &notit; &#0; &#x110000; &bogus;")) ==
             "\u263a\u0061\u00a9 \u00acit; \ufffd \ufffd &bogus;");
  BOOST_TEST(encode_utf8(clip_clean_text("ΟΔΥΣΣΕΥΣ Σ")) == "οδυσσευς σ");
  BOOST_TEST(encode_utf8(clip_clean_text("İ")) == "i\u0307");
  // Invalid UTF-8 becomes U+FFFD and never fails.
  BOOST_TEST(encode_utf8(decode_utf8("a\xff\xc3")) == "a\ufffd\ufffd");
  BOOST_TEST(!standard().encode("\xff\xfe bad bytes").empty());
}

BOOST_AUTO_TEST_CASE(damaged_vocabularies_are_errors) {
  BOOST_TEST(clip_tokenizer::from_bpe_merges("#version\na b\n").error().code() == errc::corruption);
  BOOST_TEST(clip_tokenizer::from_bpe_merges("\x1f\x8b garbage").error().code() == errc::corruption);
  crowdiff::testing::temp_dir dir;
  std::ofstream(dir.path() / "vocab.json") << "{\"a\": 0}";
  std::ofstream(dir.path() / "merges.txt") << "#version: 0.2\na b\n";
  BOOST_TEST(
      clip_tokenizer::from_files(dir.path() / "vocab.json", dir.path() / "merges.txt").error().code() ==
      errc::corruption);
  BOOST_TEST(clip_tokenizer::from_files(dir.path() / "none.json", dir.path() / "merges.txt").error().code() ==
             errc::io_error);
}

BOOST_AUTO_TEST_SUITE_END()
