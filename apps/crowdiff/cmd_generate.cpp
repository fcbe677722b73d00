// crowdiff generate: one or more images from a prompt on this machine's CPU, without a core.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "actors/worker/worker_devices.hpp"
#include "apps/crowdiff/commands.hpp"
#include "apps/crowdiff/local_generators.hpp"
#include "kernels/cpu/cpu_backend.hpp"
#include "models/image/webp_codec.hpp"
#include "models/pipeline/heap_policy.hpp"
#include "models/pipeline/image_generation.hpp"
#include "models/pipeline/model_cache.hpp"

namespace crowdiff::app {

namespace {

constexpr const char* command = "crowdiff generate";

template <class T>
result<T> number(const command_line& cli, std::initializer_list<const char*> names, T fallback, T low,
                 T high) {
  for (const char* name : names) {
    const auto text = cli.get(name);
    if (!text)
      continue;
    std::istringstream in(*text);
    T value{};
    if (!(in >> value) || !in.eof() || value < low || value > high)
      return status{errc::invalid_argument, std::string("--") + name + " takes a number from " +
                                                std::to_string(low) + " to " + std::to_string(high) +
                                                ", not " + *text};
    return value;
  }
  return fallback;
}

result<models::generation_request> request_from(const command_line& cli) {
  models::generation_request r;
  for (const auto& word : cli.words)
    r.prompt += (r.prompt.empty() ? "" : " ") + word;
  if (r.prompt.empty())
    return status{errc::invalid_argument,
                  "say what to draw: crowdiff generate --model PATH \"PROMPT\" -o OUT.webp"};
  r.negative_prompt = cli.get("negative").value_or("");
  r.sampler = cli.get("sampler").value_or(std::string(models::default_sampler.horde_name));
  r.karras = cli.has("karras");
  auto steps = number<int>(cli, {"steps"}, 20, 1, 1000);
  auto cfg = number<double>(cli, {"cfg"}, 7.0, 0.0, 100.0);
  auto width = number<int>(cli, {"W", "width"}, 512, 8, 8192);
  auto height = number<int>(cli, {"H", "height"}, 512, 8, 8192);
  auto clip_skip = number<int>(cli, {"clip-skip"}, 1, 0, 12);
  for (const status& st :
       {steps.to_status(), cfg.to_status(), width.to_status(), height.to_status(), clip_skip.to_status()})
    if (!st)
      return st;
  r.steps = *steps;
  r.cfg_scale = *cfg;
  r.width = *width;
  r.height = *height;
  r.clip_skip = *clip_skip;
  if (cli.has("seed")) {
    auto seed = number<uint64_t>(cli, {"seed"}, 0, 0, UINT64_MAX);
    if (!seed)
      return seed.error();
    r.seed = *seed;
  } else {
    r.seed = std::random_device{}() & 0xffffffffu;
  }
  if (auto source = cli.get("source")) {
    std::ifstream in(*source, std::ios::binary);
    if (!in)
      return status{errc::not_found, "cannot read the source image " + *source};
    std::ostringstream bytes;
    bytes << in.rdbuf();
    auto image = models::decode_image(bytes.str());
    if (!image)
      return status(image.error()).with_context(*source);
    r.source = std::move(*image);
    auto strength = number<double>(cli, {"denoise"}, 0.75, 0.0, 1.0);
    if (!strength)
      return strength.error();
    r.denoising_strength = *strength;
  }
  return r;
}

// out.webp -> out.webp for one image, out-1.webp, out-2.webp ... for several; the extension picks the format.
std::string output_path(const std::string& out, int index, int count) {
  if (count == 1)
    return out;
  const auto dot = out.rfind('.');
  const auto slash = out.rfind('/');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_ext ? out.substr(0, dot) : out) + "-" + std::to_string(index + 1) +
         (has_ext ? out.substr(dot) : "");
}

// [#########-----------] 9/20  2.31 s/step  eta 25 s
void draw_progress(int image, int images, int step, int total, double seconds_per_step) {
  constexpr int width = 24;
  const int filled = total > 0 ? step * width / total : 0;
  std::fprintf(stderr, "\r[%.*s%*s] ", filled, "########################", width - filled, "");
  if (images > 1)
    std::fprintf(stderr, "image %d/%d  ", image + 1, images);
  std::fprintf(stderr, "step %d/%d", step, total);
  if (seconds_per_step > 0)
    std::fprintf(stderr, "  %.2f s/step  eta %.0f s   ", seconds_per_step, seconds_per_step * (total - step));
  std::fflush(stderr);
}

}  // namespace

int cmd_generate(const command_line& cli) {
  auto sources = model_sources(cli);
  if (!sources) {
    std::fprintf(stderr, "%s: %s\n", command, sources.error().message().c_str());
    return 2;
  }
  if (sources->empty()) {
    std::fprintf(stderr, "%s: give a model: --model PATH (a diffusers folder or a .safetensors file)\n",
                 command);
    return 2;
  }
  auto request = request_from(cli);
  if (!request) {
    std::fprintf(stderr, "%s: %s\n", command, request.error().message().c_str());
    return 2;
  }
  auto images = number<int>(cli, {"n"}, 1, 1, 100);
  auto threads = number<int>(cli, {"threads"}, 0, 0, 1024);
  if (!images || !threads) {
    std::fprintf(stderr, "%s: %s\n", command, (!images ? images.error() : threads.error()).message().c_str());
    return 2;
  }
  const std::string out = cli.get("o").value_or(cli.get("output").value_or("out.webp"));
  request->format = out.size() >= 4 && out.compare(out.size() - 4, 4, ".png") == 0
                        ? models::image_format::png
                        : models::image_format::webp;

  models::return_large_blocks_to_the_system();
  // The first usable GPU, else the CPU (one line says which and why; --cpu asks for the CPU).
  const device_plan plan = plan_local_devices(cli.has("cpu"));
  result<std::unique_ptr<kernels::backend>> be = status{errc::unavailable, "no backend"};
  if (!plan.gpus.empty()) {
    auto gpu = make_gpu_backend(plan.gpus.front().ordinal);
    if (!gpu) {
      std::fprintf(stderr, "%s: %s\n", command, gpu.error().to_string().c_str());
      return 1;
    }
    std::fprintf(stderr, "on %s\n", gpu->description.c_str());
    be = std::move(gpu->backend);
  } else {
    for (const std::string& note : plan.notes)
      std::fprintf(stderr, "%s\n", note.c_str());
    be = kernels::make_cpu_backend({kernels::cpu_precision::automatic, *threads});
  }
  if (!be) {
    std::fprintf(stderr, "%s: %s\n", command, be.error().to_string().c_str());
    return 1;
  }
  const model_source& source = sources->front();
  // One model, so the whole of memory is its budget; the cache gives it its identity (the weights' SHA-256).
  models::model_cache cache(**be, SIZE_MAX, default_hash_cache());
  std::fprintf(stderr, "loading %s ...\n", source.path.c_str());
  const auto load_start = std::chrono::steady_clock::now();
  if (const status st = cache.add(source.name, source.path, source.options); !st) {
    std::fprintf(stderr, "%s: %s\n", command, st.to_string().c_str());
    return 1;
  }
  auto model = cache.acquire(source.name);
  if (!model) {
    std::fprintf(stderr, "%s: %s\n", command, model.error().to_string().c_str());
    return 1;
  }
  const auto info = *cache.info(source.name);
  std::fprintf(stderr, "%s (%s, %s) loaded in %.1f s; sha256 %s\n", source.name.c_str(),
               std::string(models::to_string((*model)->config().family)).c_str(),
               std::string(kernels::to_string((*be)->compute_dtype())).c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count(),
               info.sha256.c_str());
  if (const status st = models::validate_request(**model, *request); !st) {
    std::fprintf(stderr, "%s: %s\n", command, st.message().c_str());
    return 2;
  }

  for (int i = 0; i < *images; ++i) {
    models::generation_request one = *request;
    one.seed = request->seed + static_cast<uint64_t>(i);
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    double per_step = 0;
    models::generation_hooks hooks;
    hooks.on_step = [&](int step, int total) {
      const auto now = std::chrono::steady_clock::now();
      // The first step also encodes the prompt; later ones give the steady rate.
      const double took = std::chrono::duration<double>(now - last).count();
      per_step = step == 1 ? took : per_step + (took - per_step) / std::min(step - 1, 4);
      last = now;
      draw_progress(i, *images, step, total, per_step);
    };
    draw_progress(i, *images, 0, one.steps, 0);
    auto image = models::generate_image(**model, {source.name, info.sha256}, one, hooks);
    std::fprintf(stderr, "\n");
    if (!image) {
      std::fprintf(stderr, "%s: %s\n", command, image.error().to_string().c_str());
      return 1;
    }
    const std::string path = output_path(out, i, *images);
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(image->encoded.data()),
               static_cast<std::streamsize>(image->encoded.size()));
    if (!file) {
      std::fprintf(stderr, "%s: cannot write %s\n", command, path.c_str());
      return 1;
    }
    std::printf("%s  seed %llu  %dx%d  %.1f s\n", path.c_str(), static_cast<unsigned long long>(one.seed),
                one.width, one.height,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return 0;
}

}  // namespace crowdiff::app
