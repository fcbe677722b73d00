#include <boost/test/unit_test.hpp>

#include "kernels/reference/reference_backend.hpp"
#include "models/nn/weight_loader.hpp"
#include "models/vae/vae_decoder.hpp"
#include "models/vae/vae_encoder.hpp"
#include "tiny_models.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

BOOST_AUTO_TEST_SUITE(vae_suite)

// Decoding a latent and encoding an image against diffusers' AutoencoderKL, both layouts, both backends.
BOOST_AUTO_TEST_CASE(matches_diffusers_on_both_layouts_and_backends) {
  std::vector<std::pair<std::string, std::unique_ptr<kernels::backend>>> backends;
  backends.emplace_back("cpu f32", t::cpu_f32());
  backends.emplace_back("reference", kernels::make_reference_backend());
  for (const auto& c : t::tiny_cases()) {
    const auto weights = t::open_tiny(c);
    for (auto& [backend_name, be] : backends) {
      const std::string label = c.label + " on " + backend_name;
      weight_loader loader(weights, *be);
      auto decoder = vae_decoder::load(loader, weights.config().vae);
      BOOST_REQUIRE_MESSAGE(decoder, label << ": " << decoder.to_status().to_string());
      BOOST_TEST(decoder->upscale_factor() == 2);
      auto z = be->upload(t::host_tensor(t::reference(c.family, "vae_decode_input")));
      BOOST_REQUIRE(z);
      auto image = (*decoder)(*be, *z);
      BOOST_REQUIRE_MESSAGE(image, image.to_status().to_string());
      const double decode_error =
          t::max_relative_error(t::values(*be, *image), t::reference(c.family, "vae_decode_output").f32);
      BOOST_TEST_MESSAGE(label << " decode: max relative error " << decode_error);
      BOOST_TEST(decode_error <= 1e-4, label << " decode: " << decode_error);

      auto encoder = vae_encoder::load(loader, weights.config().vae);
      BOOST_REQUIRE_MESSAGE(encoder, label << ": " << encoder.to_status().to_string());
      auto x = be->upload(t::host_tensor(t::reference(c.family, "vae_encode_input")));
      BOOST_REQUIRE(x);
      auto posterior = (*encoder)(*be, *x);
      BOOST_REQUIRE_MESSAGE(posterior, posterior.to_status().to_string());
      const auto& mean = posterior->mean;
      const auto& logvar = posterior->logvar;
      const double mean_error =
          t::max_relative_error({mean.data_as<float>(), mean.data_as<float>() + mean.numel()},
                                t::reference(c.family, "vae_encode_mean").f32);
      const double logvar_error =
          t::max_relative_error({logvar.data_as<float>(), logvar.data_as<float>() + logvar.numel()},
                                t::reference(c.family, "vae_encode_logvar").f32);
      BOOST_TEST_MESSAGE(label << " encode: mean " << mean_error << ", logvar " << logvar_error);
      BOOST_TEST(mean_error <= 1e-4, label << " encode mean: " << mean_error);
      BOOST_TEST(logvar_error <= 1e-4, label << " encode logvar: " << logvar_error);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_bad_inputs) {
  const auto c = t::tiny_cases().front();
  const auto weights = t::open_tiny(c);
  auto be = t::cpu_f32();
  weight_loader loader(weights, *be);
  auto decoder = vae_decoder::load(loader, weights.config().vae);
  auto encoder = vae_encoder::load(loader, weights.config().vae);
  BOOST_REQUIRE(decoder && encoder);
  auto z = be->empty({1, 3, 8, 8});
  BOOST_TEST((*decoder)(*be, *z).error().code() == errc::invalid_argument);
  auto odd = be->empty({1, 3, 15, 16});
  BOOST_TEST((*encoder)(*be, *odd).error().code() == errc::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
