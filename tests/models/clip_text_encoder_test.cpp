#include "models/text/clip_text_encoder.hpp"

#include <boost/test/unit_test.hpp>

#include "kernels/reference/reference_backend.hpp"
#include "models/nn/weight_loader.hpp"
#include "tiny_models.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

namespace {

constexpr double tolerance = 1e-4;

void check(const std::string& what, const std::vector<float>& ours, const t::npy_array& expected) {
  const double error = t::max_relative_error(ours, expected.f32);
  BOOST_TEST_MESSAGE(what << ": max relative error " << error);
  BOOST_TEST(error <= tolerance, what << ": max relative error " << error);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(clip_text_encoder_suite)

// Hidden states of the fixture prompt against transformers' CLIPTextModel: the last layer (where the
// checkpoint has all three layers), the penultimate with and without the final norm (clip skip 2; SD2's
// conditioning), and the pooled output; on the CPU backend in f32 and on the reference backend.
BOOST_AUTO_TEST_CASE(matches_transformers_on_both_layouts_and_backends) {
  std::vector<std::pair<std::string, std::unique_ptr<kernels::backend>>> backends;
  backends.emplace_back("cpu f32", t::cpu_f32());
  backends.emplace_back("reference", kernels::make_reference_backend());
  for (const auto& c : t::tiny_cases()) {
    const auto weights = t::open_tiny(c);
    const auto ids = t::host_ids(t::reference(c.family, "text_tokens"));
    const auto manifest = t::read_json(t::reference_dir(c.family) / "manifest.json");
    const int all_layers = manifest["text_layers_in_single_file"].get<int>();
    for (auto& [backend_name, be] : backends) {
      const std::string label = c.label + " on " + backend_name;
      weight_loader loader(weights, *be);
      auto encoder = clip_text_encoder::load(loader, weights.config().text, weights.config().text.num_layers);
      BOOST_REQUIRE_MESSAGE(encoder, label << ": " << encoder.to_status().to_string());
      // The diffusers SD2 folder lacks the last layer: its last layer is the reference's penultimate.
      const int penultimate = all_layers - 1;
      auto plain = encoder->encode(*be, ids, penultimate, /*final_norm=*/false);
      BOOST_REQUIRE_MESSAGE(plain, plain.to_status().to_string());
      check(label + " penultimate", t::values(*be, *plain), t::reference(c.family, "text_penultimate"));
      auto normed = encoder->encode(*be, ids, penultimate, /*final_norm=*/true);
      BOOST_REQUIRE(normed);
      check(label + " penultimate + norm", t::values(*be, *normed),
            t::reference(c.family, "text_penultimate_norm"));
      if (encoder->loaded_layers() < all_layers)
        continue;
      auto last = encoder->encode(*be, ids, all_layers);
      BOOST_REQUIRE(last);
      check(label + " last", t::values(*be, *last), t::reference(c.family, "text_last_hidden"));
      auto pooled = encoder->pooled(*be, *last, ids, 49407);
      BOOST_REQUIRE(pooled);
      check(label + " pooled", t::values(*be, *pooled), t::reference(c.family, "text_pooled"));
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_bad_requests) {
  const auto c = t::tiny_cases().front();
  const auto weights = t::open_tiny(c);
  auto be = t::cpu_f32();
  weight_loader loader(weights, *be);
  BOOST_TEST(clip_text_encoder::load(loader, weights.config().text, 99).error().code() ==
             errc::invalid_argument);
  auto encoder = clip_text_encoder::load(loader, weights.config().text);
  BOOST_REQUIRE(encoder);
  BOOST_TEST(encoder->loaded_layers() == weights.config().text.layers_used);
  auto ids = kernels::tensor::host({1, 78}, kernels::dtype::i32);
  BOOST_TEST(encoder->encode(*be, *ids, 1).error().code() == errc::invalid_argument);  // longer than 77
  auto bad = kernels::tensor::host({1, 4}, kernels::dtype::i32);
  bad->mutable_data_as<int32_t>()[2] = 49408;  // outside the vocabulary
  BOOST_TEST(encoder->encode(*be, *bad, 1).error().code() == errc::invalid_argument);
  BOOST_TEST(encoder->encode(*be, *bad, 0).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
