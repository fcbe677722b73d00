#include "pipeline_run.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.hpp"
#include "models/pipeline/heap_policy.hpp"
#include "models/pipeline/image_generation.hpp"

namespace crowdiff::bench {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM"), 0 when unreadable.
double proc_status_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtod(line.c_str() + field.size() + 1, nullptr) / 1024.0;
  }
  return 0;
}

}  // namespace

int run_pipeline(const pipeline_run_options& options) {
  models::return_large_blocks_to_the_system();  // as crowdiff generate and the worker do
  kernels::cpu_options cpu;
  cpu.threads = options.threads;
  cpu.precision = options.precision == "f32"    ? kernels::cpu_precision::f32
                  : options.precision == "bf16" ? kernels::cpu_precision::bf16
                                                : kernels::cpu_precision::automatic;
  auto be = kernels::make_cpu_backend(cpu);
  if (!be) {
    std::fprintf(stderr, "cpu backend: %s\n", be.error().to_string().c_str());
    return 1;
  }
  const auto load_start = std::chrono::steady_clock::now();
  models::model_load_options load;
  load.vae_encoder = false;  // txt2img only
  auto model = models::stable_diffusion::load(options.model, **be, load);
  if (!model) {
    std::fprintf(stderr, "loading %s: %s\n", options.model.c_str(), model.error().to_string().c_str());
    return 1;
  }
  const double load_s = seconds_since(load_start);
  const double load_peak_mb = proc_status_mb("VmHWM");
  const double loaded_rss_mb = proc_status_mb("VmRSS");

  models::generation_request request;
  request.prompt = "a photograph of an astronaut riding a horse on the moon, detailed, 8k";
  request.negative_prompt = "blurry, low quality";
  request.sampler = "k_euler";
  request.steps = options.steps;
  request.cfg_scale = 7.5;
  request.width = options.size;
  request.height = options.size;
  request.seed = 1;
  std::vector<double> stamps;
  const auto start = std::chrono::steady_clock::now();
  models::generation_hooks hooks;
  hooks.on_step = [&](int step, int total) {
    stamps.push_back(seconds_since(start));
    std::fprintf(stderr, "crowdiff: step %d/%d at %.1f s, rss %.0f MiB (peak %.0f)\n", step, total,
                 stamps.back(), proc_status_mb("VmRSS"), proc_status_mb("VmHWM"));
  };
  auto image = models::generate_image(**model, {"sd15-random", ""}, request, hooks);
  if (!image) {
    std::fprintf(stderr, "generating: %s\n", image.error().to_string().c_str());
    return 1;
  }
  const double end_to_end = seconds_since(start);
  const kernels::arena_stats arena = (*be)->memory().stats();
  std::fprintf(stderr, "arena: peak in use %.0f MiB, reserved now %.0f MiB, upstream allocations %llu\n",
               static_cast<double>(arena.peak_in_use_bytes) / (1 << 20),
               static_cast<double>(arena.reserved_bytes) / (1 << 20),
               static_cast<unsigned long long>(arena.upstream_allocations));
  if (!options.output.empty()) {
    std::ofstream out(options.output, std::ios::binary);
    out.write(reinterpret_cast<const char*>(image->encoded.data()),
              static_cast<std::streamsize>(image->encoded.size()));
  }
  const double first = stamps.front();
  // The median of steps 2..N: robust to bursts of other work on a shared machine.
  std::vector<double> durations;
  for (size_t i = 1; i < stamps.size(); ++i)
    durations.push_back(stamps[i] - stamps[i - 1]);
  std::sort(durations.begin(), durations.end());
  const double per_step = durations.empty() ? first : durations[durations.size() / 2];
  std::printf(
      "{\"side\":\"crowdiff\",\"load_s\":%.3f,\"first_step_s\":%.3f,\"s_per_step\":%.4f,\"decode_s\":%.3f,"
      "\"end_to_end_s\":%.3f,\"steps\":%d,\"weights_mb\":%.1f,\"load_peak_rss_mb\":%.0f,"
      "\"loaded_rss_mb\":%.0f,\"compute\":\"%s\"}\n",
      load_s, first, per_step, end_to_end - stamps.back(), end_to_end, options.steps,
      static_cast<double>((*model)->weight_bytes()) / (1 << 20), load_peak_mb, loaded_rss_mb,
      std::string(kernels::to_string((*be)->compute_dtype())).c_str());
  return 0;
}

}  // namespace crowdiff::bench
