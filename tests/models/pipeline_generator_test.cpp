#define BOOST_TEST_MODULE crowdiff_pipeline_generator
#include "actors/worker/pipeline_generator.hpp"

#include <boost/test/unit_test.hpp>

#include "actors/scheduler/result_check.hpp"
#include "actors/worker/worker_devices.hpp"
#include "models/image/png_codec.hpp"
#include "models/image/webp_codec.hpp"
#include "tests/support/temp_dir.hpp"

using namespace crowdiff;

namespace {

std::filesystem::path tiny(const std::string& family) {
  return std::filesystem::path(CROWDIFF_FIXTURES_DIR) / (family + "_tiny");
}

pipeline_generator_options tiny_options(const std::filesystem::path& hash_cache) {
  pipeline_generator_options options;
  options.models.push_back({"tiny_sd1", tiny("sd1") / "diffusers", {}});
  model_source sd2{"tiny_sd2", tiny("sd2") / "sd2_tiny.safetensors", {}};
  sd2.options.weights.config_dir = tiny("sd2") / "diffusers";
  options.models.push_back(std::move(sd2));
  options.hash_cache = hash_cache;
  options.benchmark_side = 32;
  options.memory_budget_bytes = size_t{1} << 30;
  return options;
}

v1::TaskSpec task(const std::string& model) {
  v1::TaskSpec spec;
  spec.set_model(model);
  spec.set_seed(7);
  v1::JobRequest& r = *spec.mutable_request();
  r.set_prompt("a red bicycle ### blurry");
  r.set_sampler(v1::K_DPMPP_2M);
  r.set_steps(3);
  r.set_cfg_scale(6);
  r.set_width(16);
  r.set_height(24);
  r.set_karras(true);
  r.set_clip_skip(2);
  return spec;
}

std::unique_ptr<pipeline_generator> make(const crowdiff::testing::temp_dir& dir) {
  auto gen = pipeline_generator::create(tiny_options(dir.path() / "hashes.json"));
  BOOST_REQUIRE_MESSAGE(gen, gen.to_status().to_string());
  return std::move(*gen);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pipeline_generator_suite)

BOOST_AUTO_TEST_CASE(describes_itself) {
  crowdiff::testing::temp_dir dir;
  auto gen = make(dir);
  const auto offers = gen->models();
  BOOST_REQUIRE_EQUAL(offers.size(), 2u);
  BOOST_TEST(offers[0].name() == "tiny_sd1");
  BOOST_TEST(offers[1].name() == "tiny_sd2");
  BOOST_TEST(offers[0].sha256().size() == 64u);
  BOOST_TEST(offers[0].sha256() != offers[1].sha256());
  BOOST_TEST(!offers[0].loaded());
  BOOST_TEST(gen->device().rfind("cpu: ", 0) == 0u, gen->device());
  // Half of 1 GiB for activations: about 0.09 megapixels.
  BOOST_TEST(gen->max_pixels() == (size_t{1} << 29) / (6 * 1024));
  BOOST_TEST(scheduling::feature_names(gen->features()) ==
             (std::vector<std::string>{"img2img", "karras", "clip_skip"}));

  auto speed = gen->benchmark();
  BOOST_REQUIRE_MESSAGE(speed, speed.to_status().to_string());
  BOOST_TEST(*speed > 0);
  const auto after = gen->models();
  BOOST_TEST(after[0].loaded());  // the benchmark loaded the default model, which stays
  BOOST_TEST(after[0].mps_per_s() == *speed);
  BOOST_TEST(!after[1].loaded());
}

BOOST_AUTO_TEST_CASE(generates_tasks) {
  crowdiff::testing::temp_dir dir;
  auto gen = make(dir);
  std::vector<uint32_t> steps;
  std::atomic<bool> cancelled{false};
  auto image = gen->generate(
      task("tiny_sd2"),
      [&](uint32_t step, uint32_t total) {
        BOOST_TEST(total == 3u);
        steps.push_back(step);
      },
      cancelled);
  BOOST_REQUIRE_MESSAGE(image, image.to_status().to_string());
  BOOST_TEST(steps == (std::vector<uint32_t>{1, 2, 3}));
  BOOST_TEST(image->format == "webp");
  BOOST_TEST(image->model_sha256 == gen->models()[1].sha256());
  BOOST_TEST(image->width == 16u);
  BOOST_TEST(image->height == 24u);
  auto decoded = models::decode_webp(image->bytes);
  BOOST_REQUIRE(decoded);
  BOOST_TEST(decoded->height == 24);
  // What the pipeline makes passes the check every result goes through before it is paid.
  auto checked = scheduling::check_result(image->bytes, 16, 24);
  BOOST_TEST(checked.has_value(), checked.to_status().to_string());
  const auto comment = models::read_webp_user_comment(image->bytes);
  BOOST_TEST(comment->find("Negative prompt: blurry") != std::string::npos, *comment);
  BOOST_TEST(comment->find("Model: tiny_sd2") != std::string::npos, *comment);
  BOOST_TEST(comment->find("Seed: 7") != std::string::npos, *comment);
  BOOST_TEST(gen->models()[1].loaded());

  // The same task again gives the same image (the model stayed loaded; the seed decides everything).
  auto again = gen->generate(task("tiny_sd2"), {}, cancelled);
  BOOST_REQUIRE(again);
  BOOST_TEST(again->bytes == image->bytes);

  // No model named: the first one.
  auto default_model = gen->generate(task(""), {}, cancelled);
  BOOST_REQUIRE(default_model);
  BOOST_TEST(default_model->model_sha256 == gen->models()[0].sha256());

  // img2img from an encoded source of another size.
  v1::TaskSpec img2img = task("tiny_sd1");
  models::rgb_image source{40, 40, std::vector<uint8_t>(40 * 40 * 3, 128)};
  auto png = models::encode_png(source);
  img2img.mutable_request()->set_source_image(std::string(png->begin(), png->end()));
  img2img.mutable_request()->set_denoising_strength(0.5f);
  auto edited = gen->generate(img2img, {}, cancelled);
  BOOST_REQUIRE_MESSAGE(edited, edited.to_status().to_string());
  BOOST_TEST(edited->width == 16u);
}

BOOST_AUTO_TEST_CASE(refuses_what_it_cannot_run) {
  crowdiff::testing::temp_dir dir;
  auto gen = make(dir);
  std::atomic<bool> cancelled{false};
  BOOST_TEST(gen->generate(task("stable_diffusion_xl"), {}, cancelled).error().code() == errc::unsupported);
  v1::TaskSpec odd = task("tiny_sd1");
  odd.mutable_request()->set_width(17);  // the tiny models' VAE takes sides in steps of 2
  BOOST_TEST(gen->generate(odd, {}, cancelled).error().code() == errc::invalid_argument);
  v1::TaskSpec huge = task("tiny_sd1");
  huge.mutable_request()->set_width(4096);
  huge.mutable_request()->set_height(4096);
  BOOST_TEST(gen->generate(huge, {}, cancelled).error().code() == errc::unsupported);
  v1::TaskSpec broken = task("tiny_sd1");
  broken.mutable_request()->set_source_image("\x89PNG\r\n\x1a\nnot really");
  broken.mutable_request()->set_denoising_strength(0.5f);
  BOOST_TEST(gen->generate(broken, {}, cancelled).error().code() == errc::invalid_argument);
  cancelled = true;
  BOOST_TEST(gen->generate(task("tiny_sd1"), {}, cancelled).error().code() == errc::cancelled);
}

BOOST_AUTO_TEST_CASE(maps_requests) {
  crowdiff::testing::temp_dir dir;
  auto gen = make(dir);
  auto request = gen->request_for(task("tiny_sd1"));
  BOOST_REQUIRE(request);
  BOOST_TEST(request->sampler == "k_dpmpp_2m");
  BOOST_TEST(request->karras);
  BOOST_TEST(request->steps == 3);
  BOOST_TEST(request->seed == 7u);
  BOOST_TEST(request->clip_skip == 2);
  BOOST_TEST(request->cfg_scale == 6.0);
  BOOST_TEST(!request->source.has_value());
  BOOST_TEST(horde_sampler_name(v1::SAMPLER_UNSPECIFIED) == "k_euler_a");
  BOOST_TEST(horde_sampler_name(v1::DDIM) == "DDIM");
}

BOOST_AUTO_TEST_CASE(reports_models_it_cannot_open) {
  crowdiff::testing::temp_dir dir;
  BOOST_TEST(pipeline_generator::create({}).error().code() == errc::invalid_argument);
  pipeline_generator_options missing = tiny_options({});
  missing.models.push_back({"ghost", dir.path() / "ghost.safetensors", {}});
  auto gen = pipeline_generator::create(missing);
  BOOST_REQUIRE(!gen);
  BOOST_TEST(gen.error().message().find("ghost") != std::string::npos, gen.error().message());
  pipeline_generator_options duplicate = tiny_options({});
  duplicate.models.push_back(duplicate.models.front());
  BOOST_TEST(pipeline_generator::create(duplicate).error().code() == errc::already_exists);
  pipeline_generator_options small = tiny_options({});
  small.memory_budget_bytes = 1 << 20;
  BOOST_TEST(pipeline_generator::create(small).error().code() == errc::resource_exhausted);
}

// The device option: -1 is the CPU (the default), an ordinal a GPU; a GPU that is not there (or a build
// without the CUDA backend) is an error, not a silent CPU generator.
BOOST_AUTO_TEST_CASE(checks_the_device_option) {
  crowdiff::testing::temp_dir dir;
  pipeline_generator_options bad = tiny_options(dir.path() / "hashes.json");
  bad.cuda_device = -2;
  BOOST_TEST(pipeline_generator::create(bad).error().code() == errc::invalid_argument);
  pipeline_generator_options absent = tiny_options(dir.path() / "hashes.json");
  absent.cuda_device = 4096;
  auto gen = pipeline_generator::create(absent);
  BOOST_REQUIRE(!gen);
  BOOST_TEST(gen.error().code() == errc::unavailable, gen.error().to_string());
  BOOST_TEST(gen.error().message().find("cuda:4096") != std::string::npos, gen.error().message());
}

// One generator per supported GPU; older GPUs are skipped with a line each; without a usable GPU, or when
// asked, the CPU with exactly one line saying why.
BOOST_AUTO_TEST_CASE(plans_one_worker_per_gpu) {
  const gpu_description h100{0, "cuda:0 H100 (sm_90)", true};
  const gpu_description t4{1, "cuda:1 T4 (sm_75)", false};
  const gpu_description a100{2, "cuda:2 A100 (sm_80)", true};

  const device_plan mixed = plan_devices({h100, t4, a100}, "", false);
  BOOST_REQUIRE_EQUAL(mixed.gpus.size(), 2u);
  BOOST_TEST(mixed.gpus[0].ordinal == 0);
  BOOST_TEST(mixed.gpus[1].ordinal == 2);
  BOOST_REQUIRE_EQUAL(mixed.notes.size(), 1u);
  BOOST_TEST(mixed.notes[0] == "skipping cuda:1 T4 (sm_75): the CUDA backend needs sm_80 or later");

  const device_plan none = plan_devices({}, "no CUDA device", false);
  BOOST_TEST(none.gpus.empty());
  BOOST_TEST(none.notes == (std::vector<std::string>{"no GPU (no CUDA device): CPU backend"}));

  const device_plan too_old = plan_devices({t4}, "", false);
  BOOST_TEST(too_old.gpus.empty());
  BOOST_REQUIRE_EQUAL(too_old.notes.size(), 1u);
  BOOST_TEST(too_old.notes[0].rfind("no usable GPU (cuda:1 T4 (sm_75)", 0) == 0u, too_old.notes[0]);

  const device_plan asked = plan_devices({h100, a100}, "", true);
  BOOST_TEST(asked.gpus.empty());
  BOOST_TEST(asked.notes == (std::vector<std::string>{"CPU backend, as asked"}));

  // This machine: whatever it has, a CPU plan comes with exactly one line, and a GPU plan only has GPUs the
  // backend runs on.
  const device_plan here = plan_local_devices(false);
  if (here.gpus.empty()) {
    BOOST_REQUIRE_EQUAL(here.notes.size(), 1u);
    BOOST_TEST(here.notes[0].rfind("no ", 0) == 0u, here.notes[0]);
    BOOST_TEST_MESSAGE("this machine: " << here.notes[0]);
  }
  for (const gpu_description& gpu : here.gpus)
    BOOST_TEST(gpu.supported, gpu.description);
  BOOST_TEST(plan_local_devices(true).notes == (std::vector<std::string>{"CPU backend, as asked"}));
}

BOOST_AUTO_TEST_SUITE_END()
