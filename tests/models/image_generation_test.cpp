#include "models/pipeline/image_generation.hpp"

#include <atomic>
#include <cmath>

#include <boost/test/unit_test.hpp>

#include "kernels/cpu/cpu_backend.hpp"
#include "models/image/image_resize.hpp"
#include "models/image/png_codec.hpp"
#include "models/image/webp_codec.hpp"
#include "models/pipeline/latent_images.hpp"
#include "models/pipeline/prompt_conditioning.hpp"
#include "tiny_models.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

namespace {

struct loaded_tiny {
  std::unique_ptr<kernels::backend> be;
  std::unique_ptr<stable_diffusion> model;
  nlohmann::json manifest;
};

loaded_tiny load(const t::tiny_case& c) {
  loaded_tiny out;
  out.be = t::cpu_f32();
  auto model = stable_diffusion::load(c.path, *out.be, {c.options});
  BOOST_REQUIRE_MESSAGE(model, c.label << ": " << model.to_status().to_string());
  out.model = std::move(*model);
  out.manifest = t::read_json(t::reference_dir(c.family) / "manifest.json");
  return out;
}

// The fixture runs' settings: 16x16 images (8x8 latents), seed 42, guidance 5, the fixture prompts, and
// k-diffusion's conventions (the reference loop the fixtures were recorded with).
generation_request fixture_request(const nlohmann::json& manifest, const nlohmann::json& run) {
  generation_request r;
  r.prompt = manifest["text_prompt"].get<std::string>();
  r.negative_prompt = manifest["negative_prompt"].get<std::string>();
  r.sampler = run["sampler"].get<std::string>();
  r.karras = run["schedule"] == "karras";
  r.steps = run["steps"].get<int>();
  r.seed = run["seed"].get<uint64_t>();
  r.cfg_scale = run["cfg"].get<double>();
  r.width = 16;
  r.height = 16;
  r.format = image_format::png;
  r.conventions = sampling_conventions::k_diffusion();
  return r;
}

// Mean |ours - reference| over every channel of every pixel, in units of 1/255; the reference is the
// float decode in [-1, 1].
double mean_pixel_difference(const rgb_image& ours, const t::npy_array& reference) {
  const size_t plane = static_cast<size_t>(ours.width) * static_cast<size_t>(ours.height);
  BOOST_REQUIRE_EQUAL(reference.f32.size(), plane * 3);
  double sum = 0;
  for (size_t c = 0; c < 3; ++c)
    for (size_t i = 0; i < plane; ++i) {
      const double expected = std::clamp(reference.f32[c * plane + i] * 0.5 + 0.5, 0.0, 1.0) * 255.0;
      sum += std::abs(ours.pixels[i * 3 + c] - expected);
    }
  return sum / static_cast<double>(plane * 3);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(image_generation_suite)

// Every Horde sampler, normal (4 steps) and Karras (3 steps), end to end from the prompt to RGB pixels,
// against the fixture's run of the same job with torch, diffusers and k-diffusion: the final latent within
// 1e-4 relative and the image within 1/255 mean absolute difference. SD1 (epsilon) and SD2 (v-prediction,
// penultimate text layer, OpenCLIP padding).
BOOST_AUTO_TEST_CASE(every_sampler_matches_the_reference_runs) {
  for (const auto& c : t::tiny_cases()) {
    if (c.single_file)
      continue;  // the single files are covered by single_files_generate_the_same_images
    auto tiny = load(c);
    double worst_latent = 0, worst_pixels = 0;
    for (const auto& run : tiny.manifest["runs"]) {
      if (run.contains("source"))
        continue;
      const generation_request request = fixture_request(tiny.manifest, run);
      const std::string label = c.label + " " + run["latent"].get<std::string>();
      auto out = generate_image(*tiny.model, {"tiny", "00"}, request);
      BOOST_REQUIRE_MESSAGE(out, label << ": " << out.to_status().to_string());
      const double latent_error =
          t::max_relative_error(out->latent, t::reference(c.family, run["latent"].get<std::string>()).f32);
      const double pixels =
          mean_pixel_difference(out->image, t::reference(c.family, run["image"].get<std::string>()));
      BOOST_TEST_MESSAGE(label << ": latent max relative error " << latent_error << ", mean pixel difference "
                               << pixels << "/255");
      BOOST_TEST(latent_error <= 1e-4, label << ": latent error " << latent_error);
      BOOST_TEST(pixels <= 1.0, label << ": mean pixel difference " << pixels << "/255");
      worst_latent = std::max(worst_latent, latent_error);
      worst_pixels = std::max(worst_pixels, pixels);
    }
    BOOST_TEST_MESSAGE(c.label << ": worst latent error " << worst_latent << ", worst pixel difference "
                               << worst_pixels << "/255");
  }
}

BOOST_AUTO_TEST_CASE(single_files_generate_the_same_images) {
  for (const auto& c : t::tiny_cases()) {
    if (!c.single_file)
      continue;
    auto tiny = load(c);
    for (const auto& run : tiny.manifest["runs"]) {
      if (run.contains("source") || (run["sampler"] != "k_euler_a" && run["sampler"] != "k_dpmpp_2m"))
        continue;
      auto out = generate_image(*tiny.model, {"tiny", "00"}, fixture_request(tiny.manifest, run));
      BOOST_REQUIRE_MESSAGE(out, c.label << ": " << out.to_status().to_string());
      const double pixels =
          mean_pixel_difference(out->image, t::reference(c.family, run["image"].get<std::string>()));
      BOOST_TEST(pixels <= 1.0, c.label << ": mean pixel difference " << pixels << "/255");
    }
  }
}

// img2img at denoising strength 0.6 over 5 steps: the last 6 levels of an 8-step schedule, from the
// fixture's source latent.
BOOST_AUTO_TEST_CASE(img2img_matches_the_reference_run) {
  for (const auto& c : t::tiny_cases()) {
    if (c.single_file)
      continue;
    auto tiny = load(c);
    for (const auto& run : tiny.manifest["runs"]) {
      if (!run.contains("source"))
        continue;
      generation_request request = fixture_request(tiny.manifest, run);
      request.denoising_strength = run["denoise"].get<double>();
      const auto source = t::reference(c.family, run["source"].get<std::string>());
      int steps_seen = 0;
      auto latent = sample_latent(*tiny.model, request, source.f32, {[&](int, int total) {
        ++steps_seen;
        BOOST_TEST(total == 5);
      }});
      BOOST_REQUIRE_MESSAGE(latent, latent.to_status().to_string());
      BOOST_TEST(steps_seen == 5);
      const double error =
          t::max_relative_error(*latent, t::reference(c.family, run["latent"].get<std::string>()).f32);
      BOOST_TEST_MESSAGE(c.label << " img2img: latent max relative error " << error);
      BOOST_TEST(error <= 1e-4, c.label << " img2img: " << error);
    }
  }
}

// From pixels: generate_image encodes the (resized) source with the VAE and samples from its latent.
BOOST_AUTO_TEST_CASE(img2img_from_an_image) {
  auto tiny = load(t::tiny_cases().front());
  generation_request request = fixture_request(tiny.manifest, tiny.manifest["runs"][0]);
  rgb_image source{32, 32, std::vector<uint8_t>(32 * 32 * 3)};
  for (size_t i = 0; i < source.pixels.size(); ++i)
    source.pixels[i] = static_cast<uint8_t>(i * 7 % 251);
  request.source = source;
  request.denoising_strength = 0.5;
  auto out = generate_image(*tiny.model, {"tiny", "00"}, request);
  BOOST_REQUIRE_MESSAGE(out, out.to_status().to_string());
  auto latent = encode_image(*tiny.model, resize_bilinear(source, 16, 16));
  BOOST_REQUIRE(latent);
  auto expected = sample_latent(*tiny.model, request, *latent);
  BOOST_REQUIRE(expected);
  BOOST_TEST(out->latent == *expected);
  BOOST_REQUIRE(out->parameters.denoising_strength.has_value());
  BOOST_TEST(*out->parameters.denoising_strength == 0.5);
}

// Sides that are multiples of the VAE's factor but not of the native multiple (SD: 8 but not 64, e.g.
// 520 x 776) generate images of exactly that size, from text and from an image.
BOOST_AUTO_TEST_CASE(sides_off_the_native_grid_generate) {
  auto tiny = load(t::tiny_cases().front());
  generation_request request = fixture_request(tiny.manifest, tiny.manifest["runs"][0]);
  request.width = 14;  // latent 7: not a multiple of the tiny UNet's 2
  request.height = 10;
  auto out = generate_image(*tiny.model, {"tiny", "00"}, request);
  BOOST_REQUIRE_MESSAGE(out, out.to_status().to_string());
  BOOST_TEST(out->image.width == 14);
  BOOST_TEST(out->image.height == 10);
  BOOST_TEST(out->image.pixels.size() == size_t{14 * 10 * 3});
  request.source = rgb_image{20, 12, std::vector<uint8_t>(20 * 12 * 3, 128)};
  request.denoising_strength = 0.5;
  auto img2img = generate_image(*tiny.model, {"tiny", "00"}, request);
  BOOST_REQUIRE_MESSAGE(img2img, img2img.to_status().to_string());
  BOOST_TEST(img2img->image.width == 14);
  BOOST_TEST(img2img->image.height == 10);
}

BOOST_AUTO_TEST_CASE(long_prompts_are_chunked) {
  for (const auto& c : t::tiny_cases()) {
    auto tiny = load(c);
    auto context = encode_prompts(*tiny.model, tiny.manifest["long_prompt"].get<std::string>(), "", 1, false);
    BOOST_REQUIRE_MESSAGE(context, context.to_status().to_string());
    BOOST_TEST(context->shape() == (kernels::shape{1, 154, 32}));
    const double error = t::max_relative_error(t::values(*tiny.be, *context),
                                               t::reference(c.family, "text_long_conditioning").f32);
    BOOST_TEST_MESSAGE(c.label << " long prompt: max relative error " << error);
    BOOST_TEST(error <= 1e-4, c.label << ": " << error);
    // With a short negative prompt the pair is padded to the same number of chunks.
    auto pair = encode_prompts(*tiny.model, tiny.manifest["long_prompt"].get<std::string>(), "blurry", 1);
    BOOST_REQUIRE(pair);
    BOOST_TEST(pair->shape() == (kernels::shape{2, 154, 32}));
  }
}

// ComfyUI's clip skip: SD1 stops N - 1 layers early; SD2 already runs the penultimate OpenCLIP layer, which
// clip skip 2 keeps.
BOOST_AUTO_TEST_CASE(clip_skip_counts_layers_as_comfyui) {
  for (const auto& c : t::tiny_cases()) {
    auto tiny = load(c);
    const int used = tiny.model->config().text.layers_used;
    BOOST_TEST(*text_layers_for_clip_skip(*tiny.model, 0) == used);
    BOOST_TEST(*text_layers_for_clip_skip(*tiny.model, 1) == used);
    BOOST_TEST(*text_layers_for_clip_skip(*tiny.model, 2) == (c.family == "sd1" ? used - 1 : used));
    BOOST_TEST(text_layers_for_clip_skip(*tiny.model, 12).error().code() == errc::invalid_argument);
  }
  // SD1 clip skip 2 is the penultimate layer with the final norm.
  auto tiny = load(t::tiny_cases().front());
  const auto prompt = tiny.manifest["text_prompt"].get<std::string>();
  auto skipped = encode_prompts(*tiny.model, prompt, "", 2, false);
  BOOST_REQUIRE(skipped);
  BOOST_TEST(t::max_relative_error(t::values(*tiny.be, *skipped),
                                   t::reference("sd1", "text_penultimate_norm").f32) <= 1e-4);
}

// The output carries the A1111 parameters; ComfyUI's conventions (the default) run and differ only slightly.
BOOST_AUTO_TEST_CASE(embeds_the_parameters) {
  auto tiny = load(t::tiny_cases().front());
  generation_request request = fixture_request(tiny.manifest, tiny.manifest["runs"][0]);
  request.prompt += " ### ugly";
  request.negative_prompt = "dark";
  request.clip_skip = 2;
  auto png = generate_image(*tiny.model, {"tiny_sd1", "0123456789abcdef"}, request);
  BOOST_REQUIRE_MESSAGE(png, png.to_status().to_string());
  const std::string png_bytes(png->encoded.begin(), png->encoded.end());
  auto text = read_png_text(png_bytes);
  BOOST_REQUIRE(text);
  BOOST_REQUIRE_EQUAL(text->size(), 1u);
  const std::string& params = (*text)[0].second;
  BOOST_TEST(params.find("Negative prompt: ugly, dark") != std::string::npos, params);
  BOOST_TEST(params.find("Model: tiny_sd1") != std::string::npos, params);
  BOOST_TEST(params.find("Model hash: 0123456789") != std::string::npos, params);
  BOOST_TEST(params.find("Clip skip: 2") != std::string::npos, params);
  BOOST_TEST(params.find("Seed: 42") != std::string::npos, params);
  BOOST_TEST(decode_png(png_bytes)->pixels == png->image.pixels);

  request.format = image_format::webp;
  request.conventions = sampling_conventions::comfyui();
  auto webp = generate_image(*tiny.model, {"tiny_sd1", "0123456789abcdef"}, request);
  BOOST_REQUIRE(webp);
  const std::string webp_bytes(webp->encoded.begin(), webp->encoded.end());
  BOOST_TEST(read_webp_user_comment(webp_bytes)->find("Sampler: Euler") != std::string::npos);
  BOOST_TEST(decode_webp(webp_bytes)->width == 16);
  BOOST_TEST(webp->latent != png->latent);
  BOOST_TEST(t::max_relative_error(webp->latent, png->latent) < 0.2);
}

BOOST_AUTO_TEST_CASE(reports_steps_and_stops_when_cancelled) {
  auto tiny = load(t::tiny_cases().front());
  generation_request request = fixture_request(tiny.manifest, tiny.manifest["runs"][0]);
  std::vector<int> seen;
  auto done = generate_image(*tiny.model, {"tiny", "00"}, request, {[&](int step, int total) {
    seen.push_back(step);
    BOOST_TEST(total == 4);
  }});
  BOOST_REQUIRE(done);
  BOOST_TEST(seen == (std::vector<int>{1, 2, 3, 4}));

  std::atomic<bool> cancel{false};
  int steps = 0;
  request.sampler = "k_heun";  // two UNet calls per step: the flag is checked before each
  auto stopped = generate_image(*tiny.model, {"tiny", "00"}, request,
                                {[&](int step, int) {
                                   steps = step;
                                   if (step == 2)
                                     cancel = true;
                                 },
                                 &cancel});
  BOOST_REQUIRE(!stopped);
  BOOST_TEST(stopped.error().code() == errc::cancelled);
  BOOST_TEST(steps == 2);
  auto never = generate_image(*tiny.model, {"tiny", "00"}, request, {{}, &cancel});
  BOOST_TEST(never.error().code() == errc::cancelled);
}

// The production path multiplies in bf16 where the CPU has it: the same job stays close to the f32 reference
// (bf16 keeps 8 bits of mantissa, so a few levels of 255 on these random-weight models).
BOOST_AUTO_TEST_CASE(the_bf16_path_stays_close) {
  for (const auto& c : t::tiny_cases()) {
    if (c.single_file)
      continue;
    auto be = kernels::make_cpu_backend({kernels::cpu_precision::automatic, 0});
    BOOST_REQUIRE(be);
    auto model = stable_diffusion::load(c.path, **be, {c.options});
    BOOST_REQUIRE(model);
    const auto manifest = t::read_json(t::reference_dir(c.family) / "manifest.json");
    for (const auto& run : manifest["runs"]) {
      if (run.contains("source") || run["schedule"] != "normal")
        continue;
      auto out = generate_image(**model, {"tiny", "00"}, fixture_request(manifest, run));
      BOOST_REQUIRE(out);
      const double pixels =
          mean_pixel_difference(out->image, t::reference(c.family, run["image"].get<std::string>()));
      BOOST_TEST_MESSAGE(c.label << " " << run["sampler"].get<std::string>() << " in "
                                 << kernels::to_string((*be)->compute_dtype()) << ": mean pixel difference "
                                 << pixels << "/255");
      BOOST_TEST(pixels <= 4.0,
                 c.label << " " << run["sampler"].get<std::string>() << ": " << pixels << "/255");
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_bad_requests) {
  auto tiny = load(t::tiny_cases().front());
  const generation_request good = fixture_request(tiny.manifest, tiny.manifest["runs"][0]);
  BOOST_TEST(tiny.model->size_step() == 2);
  BOOST_TEST(tiny.model->size_multiple() == 4);
  const auto code = [&](auto change) {
    generation_request r = good;
    change(r);
    return validate_request(*tiny.model, r).code();
  };
  BOOST_TEST(code([](auto&) {}) == errc::ok);
  BOOST_TEST(code([](auto& r) { r.width = 17; }) == errc::invalid_argument);
  BOOST_TEST(code([](auto& r) { r.width = 18; }) == errc::ok);  // a step, not a native multiple
  BOOST_TEST(code([](auto& r) { r.height = 0; }) == errc::invalid_argument);
  BOOST_TEST(code([](auto& r) { r.steps = 0; }) == errc::invalid_argument);
  BOOST_TEST(code([](auto& r) { r.cfg_scale = std::nan(""); }) == errc::invalid_argument);
  BOOST_TEST(code([](auto& r) { r.sampler = "k_dpm_fast"; }) == errc::unsupported);
  BOOST_TEST(code([](auto& r) { r.sampler = "nonsense"; }) == errc::invalid_argument);
  BOOST_TEST(code([](auto& r) { r.clip_skip = 9; }) == errc::invalid_argument);
  BOOST_TEST(code([](auto& r) {
               r.source = rgb_image{16, 16, std::vector<uint8_t>(16 * 16 * 3)};
               r.denoising_strength = 0;
             }) == errc::invalid_argument);
  auto be = t::cpu_f32();
  model_load_options no_encoder;
  no_encoder.vae_encoder = false;
  auto light = stable_diffusion::load(t::tiny_cases().front().path, *be, no_encoder);
  BOOST_REQUIRE(light);
  generation_request img2img = good;
  img2img.source = rgb_image{16, 16, std::vector<uint8_t>(16 * 16 * 3)};
  BOOST_TEST(validate_request(**light, img2img).code() == errc::failed_precondition);
}

BOOST_AUTO_TEST_SUITE_END()
