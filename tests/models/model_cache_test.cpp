#include "models/pipeline/model_cache.hpp"

#include <fstream>
#include <functional>

#include <boost/test/unit_test.hpp>

#include "models/weights/safetensors_file.hpp"
#include "tests/support/temp_dir.hpp"
#include "tiny_models.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

namespace {

std::string safetensors_dtype(kernels::dtype type) {
  switch (type) {
    case kernels::dtype::f32:
      return "F32";
    case kernels::dtype::f16:
      return "F16";
    case kernels::dtype::bf16:
      return "BF16";
    default:
      return "I32";
  }
}

// Writes a copy of the safetensors file `from` to `to`, passing each tensor's name and shape through `edit`
// first (which may change them); `edit` returns false to leave the tensor out. The bytes are kept (a new
// shape must hold as many).
void rewrite(const std::filesystem::path& from, const std::filesystem::path& to,
             const std::function<bool(std::string&, std::vector<int64_t>&)>& edit) {
  auto file = safetensors_file::open(from);
  BOOST_REQUIRE(file);
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& tensor : file->tensors()) {
    std::string name = tensor.name;
    std::vector<int64_t> shape = tensor.shape;
    if (!edit(name, shape))
      continue;
    header[name] = {{"dtype", safetensors_dtype(tensor.type)},
                    {"shape", shape},
                    {"data_offsets", {data.size(), data.size() + tensor.bytes}}};
    data.append(static_cast<const char*>(tensor.data), tensor.bytes);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(to, std::ios::binary);
  const uint64_t size = text.size();
  for (int i = 0; i < 8; ++i)
    out.put(static_cast<char>(size >> (8 * i) & 0xff));
  out << text << data;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_cache_suite)

// A checkpoint missing a tensor, or holding one of another shape, fails to load with the tensor's name.
BOOST_AUTO_TEST_CASE(names_missing_and_mis_shaped_weights) {
  crowdiff::testing::temp_dir dir;
  const auto single = t::fixtures_dir() / "sd1_tiny" / "sd1_tiny.safetensors";
  auto be = t::cpu_f32();
  model_load_options options;
  options.weights.config_dir = t::fixtures_dir() / "sd1_tiny" / "diffusers";

  const std::string dropped = "model.diffusion_model.output_blocks.1.0.in_layers.2.weight";
  rewrite(single, dir.path() / "missing.safetensors",
          [&](std::string& name, std::vector<int64_t>&) { return name != dropped; });
  auto missing = stable_diffusion::load(dir.path() / "missing.safetensors", *be, options);
  BOOST_REQUIRE(!missing);
  BOOST_TEST(missing.error().code() == errc::not_found);
  BOOST_TEST(missing.error().message().find("unet.up_blocks.0.resnets.1.conv1.weight") != std::string::npos,
             missing.error().message());

  rewrite(single, dir.path() / "misshaped.safetensors", [](std::string& name, std::vector<int64_t>& shape) {
    if (name == "first_stage_model.decoder.conv_out.weight")
      shape = {shape[1], shape[0], shape[2], shape[3]};
    return true;
  });
  auto misshaped = stable_diffusion::load(dir.path() / "misshaped.safetensors", *be, options);
  BOOST_REQUIRE(!misshaped);
  BOOST_TEST(misshaped.error().code() == errc::corruption);
  BOOST_TEST(misshaped.error().message().find("vae.decoder.conv_out.weight") != std::string::npos,
             misshaped.error().message());
}

BOOST_AUTO_TEST_CASE(refuses_unsupported_models) {
  crowdiff::testing::temp_dir dir;
  auto be = t::cpu_f32();
  BOOST_TEST(stable_diffusion::load(dir.path() / "absent.safetensors", *be).error().code() == errc::io_error);
  std::ofstream(dir.path() / "model.ckpt") << "pickle";
  BOOST_TEST(stable_diffusion::load(dir.path() / "model.ckpt", *be).error().code() == errc::unsupported);
  // An SDXL checkpoint announces itself by its text encoders' names.
  rewrite(t::fixtures_dir() / "sd1_tiny" / "sd1_tiny.safetensors", dir.path() / "sdxl.safetensors",
          [](std::string& name, std::vector<int64_t>&) {
            const std::string clip = "cond_stage_model.transformer.";
            if (name.starts_with(clip))
              name = "conditioner.embedders.0.transformer." + name.substr(clip.size());
            return true;
          });
  // An inpainting UNet takes more than the latent.
  model_load_options options;
  options.weights.config_dir = t::fixtures_dir() / "sd1_tiny" / "diffusers";
  rewrite(t::fixtures_dir() / "sd1_tiny" / "sd1_tiny.safetensors", dir.path() / "inpainting.safetensors",
          [](std::string& name, std::vector<int64_t>& shape) {
            if (name == "model.diffusion_model.input_blocks.0.0.weight")
              shape = {shape[0], shape[1] * 9, 1, 1};  // as many values, read as 36 input channels
            return true;
          });
  auto inpainting = stable_diffusion::load(dir.path() / "inpainting.safetensors", *be, options);
  BOOST_REQUIRE(!inpainting);
  BOOST_TEST(inpainting.error().code() == errc::unsupported, inpainting.error().message());
  auto xl = stable_diffusion::load(dir.path() / "sdxl.safetensors", *be);
  BOOST_REQUIRE(!xl);
  BOOST_TEST(xl.error().code() == errc::unsupported, xl.error().message());
}

// Models load on first use, stay loaded, and the least recently used one goes when the budget is full.
BOOST_AUTO_TEST_CASE(keeps_models_loaded_within_the_budget) {
  crowdiff::testing::temp_dir dir;
  auto be = t::cpu_f32();
  const auto cases = t::tiny_cases();
  auto probe = stable_diffusion::load(cases[0].path, *be, {cases[0].options});
  BOOST_REQUIRE(probe);
  const size_t one = (*probe)->weight_bytes();
  const size_t estimate = estimated_weight_bytes((*probe)->weights(), be->compute_dtype());
  BOOST_TEST(estimate >= one / 2);
  BOOST_TEST(estimate <= one * 2);
  probe->reset();
  // Room for one tiny model and a half: loading a second unloads the first.
  model_cache cache(*be, std::max(one, estimate) * 3 / 2, dir.path() / "hashes.json");
  BOOST_TEST(cache.add("a", cases[0].path, {cases[0].options}).is_ok());
  BOOST_TEST(cache.add("b", cases[1].path, {cases[1].options}).is_ok());
  BOOST_TEST(cache.add("a", cases[1].path).code() == errc::already_exists);
  BOOST_TEST(cache.add("", cases[1].path).code() == errc::invalid_argument);
  BOOST_TEST(cache.add("c", dir.path() / "absent").code() != errc::ok);

  auto listed = cache.list();
  BOOST_REQUIRE_EQUAL(listed.size(), 2u);
  BOOST_TEST(listed[0].name == "a");
  BOOST_TEST(!listed[0].loaded);
  auto weights = model_weights::open(cases[1].path, cases[1].options);
  BOOST_TEST(listed[1].sha256 == *model_identity(*weights, nullptr));
  BOOST_TEST(listed[1].sha256.size() == 64u);
  BOOST_TEST(std::filesystem::exists(dir.path() / "hashes.json"));

  auto a = cache.acquire("a");
  BOOST_REQUIRE_MESSAGE(a, a.to_status().to_string());
  BOOST_TEST(cache.info("a")->loaded);
  BOOST_TEST(cache.loaded_bytes() == one);
  auto again = cache.acquire("a");
  BOOST_TEST(again->get() == a->get());  // still loaded: the same model
  auto b = cache.acquire("b");
  BOOST_REQUIRE(b);
  BOOST_TEST(!cache.info("a")->loaded);  // unloaded for b
  BOOST_TEST(cache.info("b")->loaded);
  BOOST_TEST((*a)->config().unet.block_out_channels.size() == 2u);  // a held model stays usable
  BOOST_TEST(cache.acquire("nope").error().code() == errc::not_found);
  BOOST_TEST(cache.info("nope").error().code() == errc::not_found);

  model_cache tiny_budget(*be, 1024, {});
  BOOST_TEST(tiny_budget.add("a", cases[0].path, {cases[0].options}).code() == errc::resource_exhausted);
}

BOOST_AUTO_TEST_SUITE_END()
