#include "models/weights/random_weights.hpp"

#include <cmath>
#include <cstring>
#include <map>

#include <boost/test/unit_test.hpp>

#include "kernels/half.hpp"
#include "models/nn/weight_loader.hpp"
#include "models/unet/unet_model.hpp"
#include "models/unet/unet_tensors.hpp"
#include "tiny_models.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

namespace {

std::vector<tensor_spec> specs_of(const unet_config& config) {
  auto specs = unet_tensor_specs(config);
  BOOST_REQUIRE_MESSAGE(specs, specs.to_status().to_string());
  return std::move(*specs);
}

float f16_at(const tensor_view& view, size_t i) {
  uint16_t bits = 0;
  std::memcpy(&bits, static_cast<const char*>(view.data) + 2 * i, sizeof bits);
  return kernels::f16_to_f32(bits);
}

model_weights random_or_fail(const std::vector<tensor_spec>& specs, const random_weights_options& options) {
  model_config config;
  auto weights = random_weights(specs, config, options);
  BOOST_REQUIRE_MESSAGE(weights, weights.to_status().to_string());
  return std::move(*weights);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(random_weights_suite)

// The layout unet_tensor_specs states is the one diffusers writes: every UNet tensor of the tiny SD1 (conv
// projections) and SD2 (linear projections, heads per level) checkpoints, by name and shape, and no other.
BOOST_AUTO_TEST_CASE(unet_layout_matches_the_checkpoints) {
  for (const auto& c : t::tiny_cases()) {
    const auto weights = t::open_tiny(c);
    std::map<std::string, std::vector<int64_t>> stated;
    for (const tensor_spec& spec : specs_of(weights.config().unet))
      BOOST_TEST(stated.emplace(spec.name, spec.shape).second, c.label << ": " << spec.name << " twice");
    std::map<std::string, std::vector<int64_t>> stored;
    for (const std::string& name : weights.names("unet."))
      stored.emplace(name, weights.get(name)->shape);
    BOOST_TEST(stated.size() == stored.size(), c.label);
    for (const auto& [name, shape] : stored) {
      const auto it = stated.find(name);
      BOOST_TEST((it != stated.end()), c.label << ": " << name << " is not stated");
      if (it != stated.end())
        BOOST_TEST(it->second == shape, c.label << ": " << name);
    }
  }
}

// The full-size SD 1.5 UNet: diffusers' UNet2DConditionModel of that config has 859,520,964 parameters.
BOOST_AUTO_TEST_CASE(sd15_unet_has_its_parameter_count) {
  int64_t parameters = 0;
  const auto specs = specs_of(sd1_unet_config());
  for (const tensor_spec& spec : specs) {
    int64_t n = 1;
    for (int64_t d : spec.shape)
      n *= d;
    parameters += n;
  }
  BOOST_TEST(parameters == 859'520'964);
  BOOST_TEST(specs.size() == 686u);
}

BOOST_AUTO_TEST_CASE(refuses_inconsistent_configurations) {
  unet_config config = sd1_unet_config();
  config.attention_heads.pop_back();
  BOOST_TEST(unet_tensor_specs(config).error().code() == errc::unsupported);
  config = sd1_unet_config();
  config.layers_per_block = 0;
  BOOST_TEST(unet_tensor_specs(config).error().code() == errc::unsupported);
}

// Values as PyTorch initializes fresh layers: matrices and filters within +-1/sqrt(fan_in) and spread over
// it, biases of layers likewise, norm scales 1 and shifts 0; the same bytes whatever the thread count, other
// bytes for another seed.
BOOST_AUTO_TEST_CASE(fills_like_fresh_layers_deterministically) {
  const std::vector<tensor_spec> specs = {{"unet.conv_in.weight", {32, 4, 3, 3}},
                                          {"unet.conv_in.bias", {32}},
                                          {"unet.conv_norm_out.weight", {32}},
                                          {"unet.conv_norm_out.bias", {32}},
                                          {"big.weight", {1500, 1000}}};
  random_weights_options options;
  options.seed = 5;
  options.threads = 1;
  const model_weights one = random_or_fail(specs, options);
  options.threads = 3;
  const model_weights three = random_or_fail(specs, options);
  options.seed = 6;
  const model_weights other = random_or_fail(specs, options);
  for (const tensor_spec& spec : specs) {
    const tensor_view a = *one.get(spec.name, spec.shape), b = *three.get(spec.name, spec.shape);
    BOOST_TEST((a.type == kernels::dtype::f16));
    BOOST_TEST(std::memcmp(a.data, b.data, a.bytes) == 0, spec.name);
  }
  const tensor_view big = *one.get("big.weight"), big_other = *other.get("big.weight");
  BOOST_TEST(std::memcmp(big.data, big_other.data, big.bytes) != 0);

  const auto range = [](const tensor_view& v) {
    float lo = f16_at(v, 0), hi = lo;
    for (size_t i = 1; i < static_cast<size_t>(v.numel()); ++i) {
      lo = std::min(lo, f16_at(v, i));
      hi = std::max(hi, f16_at(v, i));
    }
    return std::pair{lo, hi};
  };
  const double conv_bound = 1.0 / 6.0;  // fan-in 4 * 3 * 3
  for (const char* name : {"unet.conv_in.weight", "unet.conv_in.bias"}) {
    const auto [lo, hi] = range(*one.get(name));
    BOOST_TEST(lo >= -conv_bound * 1.001);
    BOOST_TEST(hi <= conv_bound * 1.001);
    BOOST_TEST(hi - lo > conv_bound, name);  // spread over the interval, not a constant
  }
  const auto [big_lo, big_hi] = range(big);
  const double big_bound = 1.0 / std::sqrt(1000.0);
  BOOST_TEST(big_lo < -0.99 * big_bound);
  BOOST_TEST(big_hi > 0.99 * big_bound);
  double sum = 0;
  for (size_t i = 0; i < static_cast<size_t>(big.numel()); ++i)
    sum += f16_at(big, i);
  BOOST_TEST(std::abs(sum / static_cast<double>(big.numel())) < 1e-2 * big_bound);  // centred (~20 sigma)
  const auto [scale_lo, scale_hi] = range(*one.get("unet.conv_norm_out.weight"));
  BOOST_TEST(scale_lo == 1.0f);
  BOOST_TEST(scale_hi == 1.0f);
  const auto [shift_lo, shift_hi] = range(*one.get("unet.conv_norm_out.bias"));
  BOOST_TEST(shift_lo == 0.0f);
  BOOST_TEST(shift_hi == 0.0f);
}

BOOST_AUTO_TEST_CASE(refuses_bad_specs) {
  const model_config config;
  const std::vector<tensor_spec> duplicate = {{"a.weight", {2, 2}}, {"a.weight", {2, 2}}};
  BOOST_TEST(random_weights(duplicate, config).error().code() == errc::invalid_argument);
  const std::vector<tensor_spec> empty_extent = {{"a.weight", {0, 2}}};
  BOOST_TEST(random_weights(empty_extent, config).error().code() == errc::invalid_argument);
  random_weights_options ints;
  ints.stored = kernels::dtype::i32;
  const std::vector<tensor_spec> fine = {{"a.weight", {2, 2}}};
  BOOST_TEST(random_weights(fine, config, ints).error().code() == errc::invalid_argument);
}

// A random UNet of the tiny SD1 configuration loads through the real loading path and computes outputs of
// order one (what lets a full-size one run in f16 in the GPU benchmark).
BOOST_AUTO_TEST_CASE(a_random_unet_loads_and_runs) {
  const auto c = t::tiny_cases().front();
  const model_config config = t::open_tiny(c).config();
  for (const kernels::dtype stored : {kernels::dtype::f16, kernels::dtype::f32}) {
    random_weights_options options;
    options.stored = stored;
    auto weights = random_weights(specs_of(config.unet), config, options);
    BOOST_REQUIRE_MESSAGE(weights, weights.to_status().to_string());
    BOOST_TEST(weights->config().unet.block_out_channels == config.unet.block_out_channels);
    auto be = t::cpu_f32();
    weight_loader loader(*weights, *be);
    auto unet = unet_model::load(loader, weights->config().unet);
    BOOST_REQUIRE_MESSAGE(unet, unet.to_status().to_string());
    auto x = be->upload(t::host_tensor(t::reference(c.family, "unet_input")));
    auto context = be->upload(t::host_tensor(t::reference(c.family, "unet_context")));
    BOOST_REQUIRE(x && context);
    const double ts[] = {999.0};
    auto out = (*unet)(*be, *x, ts, *context);
    BOOST_REQUIRE_MESSAGE(out, out.to_status().to_string());
    double sum_squares = 0;
    const auto values = t::values(*be, *out);
    for (float v : values) {
      BOOST_REQUIRE(std::isfinite(v));
      sum_squares += static_cast<double>(v) * v;
    }
    const double rms = std::sqrt(sum_squares / static_cast<double>(values.size()));
    BOOST_TEST_MESSAGE("random tiny UNet output rms " << rms);
    BOOST_TEST(rms > 1e-3);
    BOOST_TEST(rms < 1e2);
  }
}

BOOST_AUTO_TEST_SUITE_END()
