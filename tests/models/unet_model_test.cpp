#include "models/unet/unet_model.hpp"

#include <boost/test/unit_test.hpp>

#include "kernels/reference/reference_backend.hpp"
#include "models/nn/weight_loader.hpp"
#include "tiny_models.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

BOOST_AUTO_TEST_SUITE(unet_model_suite)

// The UNet's output at timesteps 999, 500 and 37.25 (fractional: it goes into the sinusoidal embedding as
// is) against diffusers' UNet2DConditionModel: SD1 (conv projections, one head count) and SD2 (linear
// projections, heads per level), from both layouts, on the CPU backend in f32 and on the reference backend.
BOOST_AUTO_TEST_CASE(matches_diffusers_on_both_layouts_and_backends) {
  std::vector<std::pair<std::string, std::unique_ptr<kernels::backend>>> backends;
  backends.emplace_back("cpu f32", t::cpu_f32());
  backends.emplace_back("reference", kernels::make_reference_backend());
  for (const auto& c : t::tiny_cases()) {
    const auto weights = t::open_tiny(c);
    for (auto& [backend_name, be] : backends) {
      weight_loader loader(weights, *be);
      auto unet = unet_model::load(loader, weights.config().unet);
      BOOST_REQUIRE_MESSAGE(unet, c.label << ": " << unet.to_status().to_string());
      auto x = be->upload(t::host_tensor(t::reference(c.family, "unet_input")));
      auto context = be->upload(t::host_tensor(t::reference(c.family, "unet_context")));
      BOOST_REQUIRE(x && context);
      for (const auto& [timestep, file] :
           {std::pair{999.0, "unet_output_t999"}, std::pair{500.0, "unet_output_t500"},
            std::pair{37.25, "unet_output_t37.25"}}) {
        const double ts[] = {timestep};
        auto out = (*unet)(*be, *x, ts, *context);
        BOOST_REQUIRE_MESSAGE(out, out.to_status().to_string());
        const double error = t::max_relative_error(t::values(*be, *out), t::reference(c.family, file).f32);
        BOOST_TEST_MESSAGE(c.label << " on " << backend_name << " t=" << timestep << ": max relative error "
                                   << error);
        BOOST_TEST(error <= 1e-4, c.label << " on " << backend_name << " t=" << timestep << ": " << error);
      }
    }
  }
}

// Sides that do not halve evenly (a 7 x 5 latent: 56 x 40 pixels in SD) match diffusers, which upsamples to
// each skip connection's size on the way up.
BOOST_AUTO_TEST_CASE(matches_diffusers_on_sides_that_do_not_halve_evenly) {
  for (const auto& c : t::tiny_cases()) {
    const auto weights = t::open_tiny(c);
    auto be = t::cpu_f32();
    weight_loader loader(weights, *be);
    auto unet = unet_model::load(loader, weights.config().unet);
    BOOST_REQUIRE_MESSAGE(unet, c.label << ": " << unet.to_status().to_string());
    auto x = be->upload(t::host_tensor(t::reference(c.family, "unet_input_odd")));
    auto context = be->upload(t::host_tensor(t::reference(c.family, "unet_context")));
    BOOST_REQUIRE(x && context);
    const double ts[] = {500.0};
    auto out = (*unet)(*be, *x, ts, *context);
    BOOST_REQUIRE_MESSAGE(out, out.to_status().to_string());
    BOOST_TEST(out->size(2) == 7);
    BOOST_TEST(out->size(3) == 5);
    const double error =
        t::max_relative_error(t::values(*be, *out), t::reference(c.family, "unet_output_odd_t500").f32);
    BOOST_TEST(error <= 1e-4, c.label << ": " << error);
  }
}

// A batch of two with one shared timestep gives each row what it gives alone (the pipeline batches the
// conditional and unconditional evaluations).
BOOST_AUTO_TEST_CASE(batches_rows_independently) {
  const auto c = t::tiny_cases().front();
  const auto weights = t::open_tiny(c);
  auto be = t::cpu_f32();
  weight_loader loader(weights, *be);
  auto unet = unet_model::load(loader, weights.config().unet);
  BOOST_REQUIRE(unet);
  auto x = be->upload(t::host_tensor(t::reference(c.family, "unet_input")));
  auto context = be->upload(t::host_tensor(t::reference(c.family, "unet_context")));
  auto x2 = be->concat({*x, *x}, 0);
  auto context2 = be->concat({*context, *context}, 0);
  const double ts[] = {500.0};
  auto out = (*unet)(*be, *x2, ts, *context2);
  BOOST_REQUIRE_MESSAGE(out, out.to_status().to_string());
  const auto both = t::values(*be, *out);
  const auto expected = t::reference(c.family, "unet_output_t500").f32;
  const std::vector<float> first(both.begin(), both.begin() + static_cast<long>(expected.size()));
  const std::vector<float> second(both.begin() + static_cast<long>(expected.size()), both.end());
  BOOST_TEST(t::max_relative_error(first, expected) <= 1e-4);
  BOOST_TEST(t::max_relative_error(second, expected) <= 1e-4);
}

BOOST_AUTO_TEST_CASE(rejects_bad_inputs) {
  const auto c = t::tiny_cases().front();
  const auto weights = t::open_tiny(c);
  auto be = t::cpu_f32();
  weight_loader loader(weights, *be);
  auto unet = unet_model::load(loader, weights.config().unet);
  BOOST_REQUIRE(unet);
  auto context = be->upload(t::host_tensor(t::reference(c.family, "unet_context")));
  const double ts[] = {1.0};
  auto wrong_channels = be->empty({1, 3, 8, 8});
  BOOST_TEST((*unet)(*be, *wrong_channels, ts, *context).error().code() == errc::invalid_argument);
  auto two = be->empty({2, 4, 8, 8});
  BOOST_TEST((*unet)(*be, *two, ts, *context).error().code() == errc::invalid_argument);  // context batch 1
}

// A UNet whose configuration asks for tensors of another shape than the checkpoint's fails naming the tensor.
BOOST_AUTO_TEST_CASE(names_mis_shaped_weights) {
  const auto c = t::tiny_cases().front();
  const auto weights = t::open_tiny(c);
  auto be = t::cpu_f32();
  weight_loader loader(weights, *be);
  unet_config config = weights.config().unet;
  config.cross_attention_dim = 768;
  auto unet = unet_model::load(loader, config);
  BOOST_REQUIRE(!unet);
  BOOST_TEST(unet.error().code() == errc::corruption);
  BOOST_TEST(unet.error().message().find("attn2.to_k.weight") != std::string::npos, unet.error().message());
  config = weights.config().unet;
  config.layers_per_block = 3;
  auto missing = unet_model::load(loader, config);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().code() == errc::not_found);
  BOOST_TEST(missing.error().message().find("unet.down_blocks.0.resnets.") != std::string::npos,
             missing.error().message());
}

BOOST_AUTO_TEST_SUITE_END()
