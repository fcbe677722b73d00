// The AI Horde JSON shapes: request parsing rules and the value types clients insist on.
#include "gateway/horde_json.hpp"

#include <boost/test/unit_test.hpp>
#include <sodium.h>

#include "gateway/horde_requests.hpp"

namespace {

using namespace crowdiff;
using namespace crowdiff::gateway;
using json = nlohmann::json;

field_errors errors_of(const json& body) {
  generate_input in;
  field_errors errors;
  parse_generate(body, in, errors);
  return errors;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(horde_json)

BOOST_AUTO_TEST_CASE(defaults_of_a_bare_request) {
  generate_input in;
  field_errors errors;
  BOOST_REQUIRE(parse_generate(json{{"prompt", "a cat ### blurry"}}, in, errors));
  BOOST_TEST(in.request.prompt() == "a cat ");
  BOOST_TEST(in.request.negative_prompt() == " blurry");
  BOOST_TEST(in.request.width() == 512u);
  BOOST_TEST(in.request.steps() == 30u);
  BOOST_TEST(in.request.models(0) == "stable_diffusion");
  BOOST_TEST(in.request.sampler() == v1::K_EULER_A);
  BOOST_TEST(!in.request.inline_images());
}

BOOST_AUTO_TEST_CASE(a_webhook_is_kept_as_sent_and_taken_apart) {
  generate_input in;
  field_errors errors;
  BOOST_REQUIRE(
      parse_generate(json{{"prompt", "x"}, {"webhook", "https://hooks.example/h?t=1"}}, in, errors));
  BOOST_TEST(in.request.webhook() == "https://hooks.example/h?t=1");
  BOOST_REQUIRE(in.webhook.has_value());
  BOOST_TEST(in.webhook->host == "hooks.example");
  BOOST_TEST(in.webhook->target == "/h?t=1");
  generate_input none;
  BOOST_REQUIRE(parse_generate(json{{"prompt", "x"}, {"webhook", ""}}, none, errors));
  BOOST_TEST(!none.webhook.has_value());
  BOOST_TEST(errors_of(json{{"prompt", "x"}, {"webhook", "http://example.com/h"}}).count("webhook") == 1u);
}

BOOST_AUTO_TEST_CASE(sizes_must_be_multiples_of_64) {
  BOOST_TEST(errors_of(json{{"prompt", "x"}, {"params", {{"width", 520}}}}).at("params.width") ==
             "must be a multiple of 64");
  BOOST_TEST(errors_of(json{{"prompt", "x"}, {"params", {{"height", 500}}}}).count("params.height") == 1u);
  BOOST_TEST(errors_of(json{{"prompt", "x"}, {"params", {{"width", 576}, {"height", 1024}}}}).empty());
  BOOST_TEST(errors_of(json{{"prompt", "x"}, {"params", {{"width", 3136}}}}).at("params.width") ==
             "must be from 64 to 3072");
}

BOOST_AUTO_TEST_CASE(hostile_values_are_field_errors) {
  auto e =
      errors_of(json{{"prompt", 5},
                     {"params", {{"steps", 1e300}, {"n", "4"}, {"seed", json::array()}, {"cfg_scale", -1}}},
                     {"models", "stable_diffusion"},
                     {"nsfw", "yes"},
                     {"surprise", true}});
  for (const char* field : {"prompt", "params.steps", "params.n", "params.seed", "params.cfg_scale", "models",
                            "nsfw", "surprise"})
    BOOST_TEST(e.count(field) == 1u, field);
  BOOST_TEST(errors_of(json{{"prompt", std::string("a\0b", 3)}}).at("prompt") == "contains a NUL byte");
  BOOST_TEST(errors_of(json{{"prompt", "x"}, {"source_image", "@@@"}}).at("source_image") ==
             "is not valid base64");
  BOOST_TEST(errors_of(json::array()).count("body") == 1u);
}

BOOST_AUTO_TEST_CASE(seeds_follow_the_ai_horde_rule) {
  BOOST_TEST(seed_from_text("1312") == 1312u);
  BOOST_TEST(seed_from_text("abc") == 0x636261u);
  // 2^40 + 5 folds by >> 32 to 256.
  BOOST_TEST(seed_from_text("1099511627781") == 256u);
  generate_input in;
  field_errors errors;
  BOOST_REQUIRE(parse_generate(json{{"prompt", "x"}, {"params", {{"seed", "42"}}}}, in, errors));
  BOOST_TEST(in.request.seed() == 42u);
  BOOST_TEST(in.request.seed_variation() == 1u);  // AI Horde's default
  generate_input varied;
  BOOST_REQUIRE(
      parse_generate(json{{"prompt", "x"}, {"params", {{"n", 3}, {"seed_variation", 5}}}}, varied, errors));
  BOOST_TEST(varied.request.seed_variation() == 5u);
  for (int bad : {0, 1001}) {
    generate_input refused;
    field_errors e;
    BOOST_TEST(!parse_generate(json{{"prompt", "x"}, {"params", {{"seed_variation", bad}}}}, refused, e));
    BOOST_TEST(e.count("params.seed_variation") == 1u);
  }
}

BOOST_AUTO_TEST_CASE(check_has_integer_counts_and_times) {
  v1::JobStatus st;
  st.set_state(v1::QUEUED);
  st.set_images_waiting(2);
  st.set_queue_position(7);
  st.set_estimated_finish_ms(10'500);
  auto j = check_json(st, 1'000);
  BOOST_TEST(j.at("wait_time").is_number_integer());
  BOOST_TEST(j.at("wait_time") == 10);
  BOOST_TEST(j.at("queue_position").is_number_integer());
  BOOST_TEST(j.at("waiting") == 2);
  BOOST_TEST(j.at("done") == false);
  BOOST_TEST(j.at("is_possible").is_boolean());
}

BOOST_AUTO_TEST_CASE(generation_seed_is_a_string) {
  v1::GenerationResult r;
  r.set_seed(1312);
  r.set_worker_id(3);
  auto g = generation_json(r, uuid::random(), "img");
  BOOST_TEST(g.at("seed") == "1312");
  BOOST_TEST(g.at("worker_id") == "3");
  BOOST_TEST(g.at("state") == "ok");
}

BOOST_AUTO_TEST_CASE(worker_megapixelsteps_are_an_integer) {
  worker_summary w;
  w.id = 4;
  w.name = "w";
  w.models = "a,b";
  v1::WorkerRecord rec;
  rec.set_megapixel_steps_done(5.24288);
  auto j = worker_json(w, &rec, true);
  BOOST_TEST(j.at("megapixelsteps_generated").is_number_integer());
  BOOST_TEST(j.at("megapixelsteps_generated") == 5);
  BOOST_TEST(j.at("models") == json::array({"a", "b"}));
  BOOST_TEST(j.at("id") == "4");
}

// The decoder against libsodium's encoder (the reference) on every length from 0 to 300, then what it must
// refuse: bad characters, data after padding, incomplete groups, bits left over.
BOOST_AUTO_TEST_CASE(base64_decodes_what_libsodium_encodes_and_refuses_the_rest) {
  std::string bytes;
  for (size_t n = 0; n <= 300; ++n) {
    std::string encoded(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(encoded.data(), encoded.size(), reinterpret_cast<const unsigned char*>(bytes.data()), n,
                      sodium_base64_VARIANT_ORIGINAL);
    encoded.resize(encoded.size() - 1);  // the terminating NUL
    std::string decoded;
    BOOST_REQUIRE_MESSAGE(decode_base64(encoded, decoded), "length " << n);
    BOOST_TEST(decoded == bytes);
    bytes.push_back(static_cast<char>((n * 37 + 11) & 0xff));
  }
  std::string out;
  BOOST_TEST(decode_base64("aGVs\nbG8=", out));
  BOOST_TEST(out == "hello");
  BOOST_TEST(decode_base64("data:image/png;base64,aGk=", out));
  BOOST_TEST(out == "hi");
  BOOST_TEST(decode_base64("", out));
  BOOST_TEST(out.empty());
  for (std::string bad :
       {"aGk", "aGk==", "a===", "aGk=a", "aG-k", "aGk=\t", "aGl=", "aGj=", "aR==", "=", "a"})
    BOOST_TEST(!decode_base64(bad, out), bad);
}

// A decimal seed costs time that grows with the square of its length: a megabyte of digits from a stranger
// would hold a thread for minutes. Both requests and worker submissions cap it.
BOOST_AUTO_TEST_CASE(a_seed_longer_than_the_cap_is_refused_in_requests_and_submissions) {
  std::string longest(max_seed_chars, '7');
  std::string too_long(max_seed_chars + 1, '7');
  BOOST_TEST(errors_of(json{{"prompt", "x"}, {"params", {{"seed", longest}}}}).count("params.seed") == 0u);
  BOOST_TEST(errors_of(json{{"prompt", "x"}, {"params", {{"seed", too_long}}}}).count("params.seed") == 1u);
  submit_input in;
  field_errors errors;
  json body{{"id", "00000000-0000-4000-8000-000000000000"},
            {"generation", "R2"},
            {"state", "ok"},
            {"seed", too_long}};
  BOOST_TEST(!parse_submit(body, in, errors));
  BOOST_TEST(errors.count("seed") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
