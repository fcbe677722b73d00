#include "models/weights/model_weights.hpp"

#include <cstring>
#include <fstream>

#include <boost/test/unit_test.hpp>

#include "fixtures.hpp"
#include "models/weights/key_mapping.hpp"
#include "tests/support/temp_dir.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

namespace {

std::filesystem::path tiny(const std::string& family) {
  return t::fixtures_dir() / (family + "_tiny");
}

model_weights open_or_fail(const std::filesystem::path& path, const load_options& options = {}) {
  auto weights = model_weights::open(path, options);
  BOOST_REQUIRE_MESSAGE(weights, weights.to_status().to_string());
  return std::move(*weights);
}

bool same_tensor(const tensor_view& a, const tensor_view& b) {
  return a.type == b.type && a.shape == b.shape && a.bytes == b.bytes &&
         std::memcmp(a.data, b.data, a.bytes) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_weights_suite)

BOOST_AUTO_TEST_CASE(maps_unet_and_vae_names) {
  single_file_structure s;  // SD: 2 resnets per level, 4 VAE levels
  const auto map1 = [&](const std::string& key) {
    const auto targets = map_single_file_key(key, s);
    return targets.size() == 1 ? targets[0].name : std::string("<none>");
  };
  BOOST_TEST(map1("model.diffusion_model.input_blocks.0.0.weight") == "unet.conv_in.weight");
  BOOST_TEST(map1("model.diffusion_model.input_blocks.4.0.in_layers.2.weight") ==
             "unet.down_blocks.1.resnets.0.conv1.weight");
  BOOST_TEST(map1("model.diffusion_model.input_blocks.5.1.proj_in.weight") ==
             "unet.down_blocks.1.attentions.1.proj_in.weight");
  BOOST_TEST(map1("model.diffusion_model.input_blocks.9.0.op.bias") ==
             "unet.down_blocks.2.downsamplers.0.conv.bias");
  BOOST_TEST(map1("model.diffusion_model.middle_block.2.skip_connection.weight") ==
             "unet.mid_block.resnets.1.conv_shortcut.weight");
  BOOST_TEST(map1("model.diffusion_model.output_blocks.2.1.conv.weight") ==
             "unet.up_blocks.0.upsamplers.0.conv.weight");
  BOOST_TEST(map1("model.diffusion_model.output_blocks.5.2.conv.weight") ==
             "unet.up_blocks.1.upsamplers.0.conv.weight");
  BOOST_TEST(map1("model.diffusion_model.output_blocks.5.1.transformer_blocks.0.attn2.to_k.weight") ==
             "unet.up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_k.weight");
  BOOST_TEST(map1("model.diffusion_model.time_embed.2.weight") == "unet.time_embedding.linear_2.weight");
  BOOST_TEST(map1("first_stage_model.decoder.up.3.block.0.nin_shortcut.weight") ==
             "vae.decoder.up_blocks.0.resnets.0.conv_shortcut.weight");
  BOOST_TEST(map1("first_stage_model.decoder.up.1.upsample.conv.bias") ==
             "vae.decoder.up_blocks.2.upsamplers.0.conv.bias");
  BOOST_TEST(map1("first_stage_model.encoder.mid.attn_1.proj_out.weight") ==
             "vae.encoder.mid_block.attentions.0.to_out.0.weight");
  BOOST_TEST(map1("cond_stage_model.transformer.text_model.final_layer_norm.bias") ==
             "text_encoder.text_model.final_layer_norm.bias");
  BOOST_TEST(map1("cond_stage_model.transformer.encoder.layers.3.mlp.fc1.weight") ==
             "text_encoder.text_model.encoder.layers.3.mlp.fc1.weight");
  BOOST_TEST(map1("model_ema.decay") == "<none>");
  BOOST_TEST(map1("alphas_cumprod") == "<none>");
  const auto qkv =
      map_single_file_key("cond_stage_model.model.transformer.resblocks.7.attn.in_proj_weight", s);
  BOOST_REQUIRE_EQUAL(qkv.size(), 3u);
  BOOST_TEST(qkv[1].name == "text_encoder.text_model.encoder.layers.7.self_attn.k_proj.weight");
  BOOST_TEST(qkv[2].third == 2);
}

BOOST_AUTO_TEST_CASE(both_layouts_give_the_same_canonical_tensors) {
  for (const std::string family : {"sd1", "sd2"}) {
    const auto folder = open_or_fail(tiny(family) / "diffusers");
    const auto single = open_or_fail(tiny(family) / (family + "_tiny.safetensors"));
    BOOST_TEST((folder.format() == checkpoint_format::diffusers_folder));
    BOOST_TEST((single.format() == checkpoint_format::single_file));
    // Every canonical tensor of the folder is in the single file, byte for byte (the OpenCLIP q/k/v are
    // slices of in_proj, the VAE attention 1x1 convs read as linear).
    size_t compared = 0;
    for (const auto& name : folder.names()) {
      auto a = folder.get(name);
      auto b = single.get(name);
      BOOST_REQUIRE_MESSAGE(b, family << ": " << b.to_status().to_string());
      BOOST_TEST(same_tensor(*a, *b), family << ": " << name << " differs");
      ++compared;
    }
    BOOST_TEST(compared > 200u);
    // The single file has nothing the folder lacks, except SD2's extra last OpenCLIP layer.
    const int extra = family == "sd2" ? 1 : 0;
    BOOST_TEST(single.config().text.num_layers == folder.config().text.num_layers + extra);
    const std::string last =
        "text_encoder.text_model.encoder.layers." + std::to_string(folder.config().text.num_layers);
    BOOST_TEST(single.names(last).size() == (family == "sd2" ? 16u : 0u));
    BOOST_TEST(single.names().size() == folder.names().size() + single.names(last).size());
  }
}

BOOST_AUTO_TEST_CASE(detects_the_configuration) {
  const auto manifest1 = t::read_json(tiny("sd1") / "reference" / "manifest.json");
  const auto sd1 = open_or_fail(tiny("sd1") / "sd1_tiny.safetensors");
  const auto& c = sd1.config();
  BOOST_TEST((c.family == model_family::sd1));
  BOOST_TEST(c.unet.block_out_channels == (std::vector<int>{16, 32}));
  BOOST_TEST(c.unet.down_block_attention == (std::vector<bool>{true, false}));
  BOOST_TEST(c.unet.layers_per_block == 1);
  BOOST_TEST(c.unet.cross_attention_dim == 32);
  BOOST_TEST(!c.unet.use_linear_projection);
  BOOST_TEST(c.vae.block_out_channels == (std::vector<int>{16, 32}));
  BOOST_TEST(c.text.hidden_size == 32);
  BOOST_TEST(c.text.num_layers == manifest1["text_layers_in_single_file"].get<int>());
  BOOST_TEST(c.text.layers_used == c.text.num_layers);
  BOOST_TEST(c.text.quick_gelu);
  BOOST_TEST(c.text.pad_token == 49407);
  BOOST_TEST((c.schedule.prediction == prediction_type::epsilon));

  // SD2 from the single file: OpenCLIP names say SD2; the last layer is not used; v-prediction cannot be
  // seen.
  const auto sd2 = open_or_fail(tiny("sd2") / "sd2_tiny.safetensors");
  BOOST_TEST((sd2.config().family == model_family::sd2));
  BOOST_TEST(sd2.config().unet.use_linear_projection);
  BOOST_TEST(sd2.config().text.layers_used == sd2.config().text.num_layers - 1);
  BOOST_TEST(!sd2.config().text.quick_gelu);
  BOOST_TEST(sd2.config().text.pad_token == 0);
  BOOST_TEST((sd2.config().schedule.prediction == prediction_type::epsilon));
  load_options flagged;
  flagged.prediction = prediction_type::v_prediction;
  BOOST_TEST((open_or_fail(tiny("sd2") / "sd2_tiny.safetensors", flagged).config().schedule.prediction ==
              prediction_type::v_prediction));
  // The folder's config files give heads, groups and the prediction type.
  const auto folder = open_or_fail(tiny("sd2") / "diffusers");
  BOOST_TEST((folder.config().family == model_family::sd2));
  BOOST_TEST((folder.config().schedule.prediction == prediction_type::v_prediction));
  BOOST_TEST(folder.config().unet.attention_heads == (std::vector<int>{2, 4}));
  BOOST_TEST(folder.config().unet.norm_groups == 8);
  BOOST_TEST(folder.config().text.layers_used == folder.config().text.num_layers);
  BOOST_TEST(folder.config().text.pad_token == 0);
  BOOST_TEST(open_or_fail(tiny("sd1") / "diffusers").config().unet.attention_heads ==
             (std::vector<int>{4, 4}));
  // A single file takes the same refinements from a config folder.
  load_options with_config;
  with_config.config_dir = tiny("sd2") / "diffusers";
  const auto refined = open_or_fail(tiny("sd2") / "sd2_tiny.safetensors", with_config);
  BOOST_TEST(refined.config().unet.attention_heads == (std::vector<int>{2, 4}));
  BOOST_TEST((refined.config().schedule.prediction == prediction_type::v_prediction));
}

// A1111's convention for single files: a YAML beside the checkpoint says whether it predicts v.
BOOST_AUTO_TEST_CASE(reads_v_prediction_from_a_yaml_beside_a_single_file) {
  crowdiff::testing::temp_dir dir;
  const auto link = dir.path() / "sd2_768v.safetensors";
  std::filesystem::create_symlink(tiny("sd2") / "sd2_tiny.safetensors", link);
  BOOST_TEST((open_or_fail(link).config().schedule.prediction == prediction_type::epsilon));
  std::ofstream(dir.path() / "sd2_768v.yaml") << "model:\n  params:\n    parameterization: \"v\"\n";
  BOOST_TEST((open_or_fail(link).config().schedule.prediction == prediction_type::v_prediction));
  std::ofstream(dir.path() / "sd2_768v.yaml") << "model:\n  params:\n    parameterization: \"eps\"  # v\n";
  BOOST_TEST((open_or_fail(link).config().schedule.prediction == prediction_type::epsilon));
  load_options forced;
  forced.prediction = prediction_type::epsilon;
  std::ofstream(dir.path() / "sd2_768v.yaml") << "parameterization: v\n";
  BOOST_TEST((open_or_fail(link).config().schedule.prediction == prediction_type::v_prediction));
  BOOST_TEST((open_or_fail(link, forced).config().schedule.prediction == prediction_type::epsilon));
}

BOOST_AUTO_TEST_CASE(lookups_name_missing_and_misshaped_tensors) {
  const auto weights = open_or_fail(tiny("sd1") / "diffusers");
  const auto missing = weights.get("unet.no_such.weight");
  BOOST_TEST(missing.error().code() == errc::not_found);
  BOOST_TEST(missing.error().message().find("unet.no_such.weight") != std::string::npos);
  BOOST_TEST(weights.get("unet.conv_in.weight", {16, 4, 3, 3}).has_value());
  const auto misshaped = weights.get("unet.conv_in.weight", {320, 4, 3, 3});
  BOOST_TEST(misshaped.error().code() == errc::corruption);
  BOOST_TEST(misshaped.error().message().find("unet.conv_in.weight") != std::string::npos);
  BOOST_TEST(misshaped.error().message().find("[16, 4, 3, 3]") != std::string::npos);
  BOOST_TEST(weights.get("vae.encoder.mid_block.attentions.0.to_q.weight")->shape ==
             (std::vector<int64_t>{32, 32}));
  BOOST_TEST((weights.get("unet.conv_in.weight")->type == kernels::dtype::f16));
  BOOST_TEST(
      (open_or_fail(tiny("sd2") / "diffusers").get("unet.conv_in.weight")->type == kernels::dtype::bf16));
}

BOOST_AUTO_TEST_CASE(refuses_what_it_cannot_load) {
  crowdiff::testing::temp_dir dir;
  std::ofstream(dir.path() / "model.ckpt") << "x";
  BOOST_TEST(model_weights::open(dir.path() / "model.ckpt").error().code() == errc::unsupported);
  BOOST_TEST(model_weights::open(dir.path()).error().code() == errc::not_found);  // an empty folder
  std::filesystem::create_directories(dir.path() / "unet");
  std::ofstream(dir.path() / "unet" / "diffusion_pytorch_model.bin") << "x";
  BOOST_TEST(model_weights::open(dir.path()).error().code() == errc::unsupported);
}

BOOST_AUTO_TEST_SUITE_END()
