// bench_cpu_pipeline: Stable Diffusion 1.5 at 512x512 with classifier-free guidance (a UNet batch of two per
// step) on the CPU, crowdiff against PyTorch/diffusers doing the same work, each in its own process so that
// each one's peak memory is its own. Prints a table with ratios, then one JSON line.
//
//   bench_cpu_pipeline [--model DIR] [--steps N] [--size PX] [--threads N] [--precision auto|bf16|f32]
//                      [--python PATH | --no-baseline] [--baseline-dtype float32|bfloat16] [--image OUT.webp]
//
// The model is the random-weight SD 1.5 folder tools/make_random_sd15.py writes (default
// /work/models/sd15-random). The baseline runs benchmarks/cpu_pipeline/baseline.py with the Python given by
// --python or $CROWDIFF_BASELINE_PYTHON (default /work/venv/bin/python); without one it is reported as
// unavailable. --run-ours runs only our side, in this process (what the parent starts as its child).

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "benchmarks/common/report_cells.hpp"
#include "child_process.hpp"
#include "kernels/cpu/cpu_backend.hpp"
#include "pipeline_run.hpp"

namespace crowdiff::bench {
namespace {

struct options {
  pipeline_run_options run;
  bool run_ours_only = false;
  bool baseline = true;
  std::string python;
  std::string baseline_dtype = "float32";
};

// The last line of a child's stdout that parses as a JSON object.
std::optional<nlohmann::json> result_line(const std::string& text) {
  size_t end = text.size();
  while (end > 0) {
    const size_t begin = text.rfind('\n', end - 1);
    const size_t from = begin == std::string::npos ? 0 : begin + 1;
    const std::string line = text.substr(from, end - from);
    if (!line.empty() && line.front() == '{') {
      auto parsed = nlohmann::json::parse(line, nullptr, false);
      if (!parsed.is_discarded() && parsed.is_object())
        return parsed;
    }
    if (begin == std::string::npos)
      break;
    end = begin;
  }
  return std::nullopt;
}

struct side {
  std::optional<nlohmann::json> figures;
  double peak_rss_mb = 0;
  std::string problem;  // why there are no figures
};

side measure(const std::vector<std::string>& argv) {
  side out;
  auto child = run_child(argv);
  if (!child) {
    out.problem = child.error().to_string();
    return out;
  }
  out.peak_rss_mb = child->peak_rss_mb;
  out.figures = result_line(child->stdout_text);
  if (child->exit_code != 0 || !out.figures) {
    out.problem = argv[0] + " exited with " + std::to_string(child->exit_code);
    out.figures.reset();
  }
  return out;
}

std::optional<double> number(const side& s, const char* key) {
  if (!s.figures || !s.figures->contains(key) || !(*s.figures)[key].is_number())
    return std::nullopt;
  return (*s.figures)[key].get<double>();
}

std::string cpu_model() {
  FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (f == nullptr)
    return "unknown";
  char line[512];
  std::string model = "unknown";
  while (std::fgets(line, sizeof line, f) != nullptr) {
    const std::string text = line;
    if (text.rfind("model name", 0) == 0) {
      model = text.substr(text.find(':') + 2);
      model.erase(model.find_last_not_of("\n ") + 1);
      break;
    }
  }
  std::fclose(f);
  return model;
}

int run(const options& opt, const char* self) {
  const int threads =
      opt.run.threads > 0 ? opt.run.threads : static_cast<int>(std::thread::hardware_concurrency());
  const kernels::cpu_features features = kernels::detect_cpu_features();
  std::printf("bench_cpu_pipeline: %s, %dx%d, %d steps, guidance 7.5 (UNet batch 2), k_euler\n",
              opt.run.model.c_str(), opt.run.size, opt.run.size, opt.run.steps);
  std::printf("machine: %s, %d threads, avx512 %d, avx512_bf16 %d, amx %d\n", cpu_model().c_str(), threads,
              features.avx512, features.avx512_bf16, features.amx_bf16);
  std::fflush(stdout);

  const std::string steps = std::to_string(opt.run.steps), size = std::to_string(opt.run.size),
                    thread_arg = std::to_string(threads);
  std::vector<std::string> ours{self,        "--run-ours", "--model",     opt.run.model,
                                "--steps",   steps,        "--size",      size,
                                "--threads", thread_arg,   "--precision", opt.run.precision};
  if (!opt.run.output.empty()) {
    ours.push_back("--image");
    ours.push_back(opt.run.output);
  }
  const side crowdiff = measure(ours);
  if (!crowdiff.figures) {
    std::fprintf(stderr, "crowdiff run failed: %s\n", crowdiff.problem.c_str());
    return 1;
  }

  side baseline;
  const std::filesystem::path script =
      std::filesystem::path(CROWDIFF_SOURCE_DIR) / "benchmarks" / "cpu_pipeline" / "baseline.py";
  std::error_code ec;
  if (!opt.baseline) {
    baseline.problem = "skipped (--no-baseline)";
  } else if (opt.python.empty() || !std::filesystem::exists(opt.python, ec)) {
    baseline.problem = "no Python with torch and diffusers (give --python or $CROWDIFF_BASELINE_PYTHON)";
  } else {
    baseline = measure({opt.python, script.string(), "--model", opt.run.model, "--steps", steps, "--size",
                        size, "--threads", thread_arg, "--dtype", opt.baseline_dtype});
  }
  if (!baseline.figures)
    std::printf("baseline unavailable: %s\n", baseline.problem.c_str());

  const auto ratio = [](std::optional<double> a, std::optional<double> b) -> std::optional<double> {
    return a && b && *b > 0 ? std::optional<double>(*a / *b) : std::nullopt;
  };
  const std::optional<double> base_rss =
      baseline.figures ? std::optional<double>(baseline.peak_rss_mb) : std::nullopt;
  const std::optional<double> our_rss = crowdiff.peak_rss_mb;
  std::printf("\n%-26s %14s %14s %12s\n", "", "crowdiff", "diffusers", "ours/theirs");
  const auto row = [&](const char* name, std::optional<double> a, std::optional<double> b,
                       const char* format) {
    std::printf("%-26s %14s %14s %12s\n", name, cell(a, format).c_str(), cell(b, format).c_str(),
                cell(ratio(a, b), "%.2fx").c_str());
  };
  row("s/step (median, 2..N)", number(crowdiff, "s_per_step"), number(baseline, "s_per_step"), "%.3f");
  row("first step s (+ text)", number(crowdiff, "first_step_s"), number(baseline, "first_step_s"), "%.2f");
  row("VAE decode + encode s", number(crowdiff, "decode_s"), number(baseline, "decode_s"), "%.2f");
  row("end to end s", number(crowdiff, "end_to_end_s"), number(baseline, "end_to_end_s"), "%.2f");
  row("model load s", number(crowdiff, "load_s"), number(baseline, "load_s"), "%.2f");
  row("peak RSS MiB", our_rss, base_rss, "%.0f");
  std::printf(
      "crowdiff computes in %s; the baseline in %s. Each side runs in its own process; peak RSS is that "
      "process's ru_maxrss. End to end: prompt to encoded image, after loading.\n",
      number(crowdiff, "s_per_step") ? (*crowdiff.figures)["compute"].get<std::string>().c_str() : "?",
      baseline.figures ? opt.baseline_dtype.c_str() : "-");
  std::printf(
      "{\"bench\":\"cpu_pipeline\",\"s_per_step\":%s,\"baseline_s_per_step\":%s,\"end_to_end_s\":%s,"
      "\"peak_rss_mb\":%s,\"baseline_peak_rss_mb\":%s}\n",
      json_number(number(crowdiff, "s_per_step")).c_str(),
      json_number(number(baseline, "s_per_step")).c_str(),
      json_number(number(crowdiff, "end_to_end_s")).c_str(), json_number(our_rss).c_str(),
      json_number(base_rss).c_str());
  return 0;
}

}  // namespace
}  // namespace crowdiff::bench

int main(int argc, char** argv) {
  crowdiff::bench::options opt;
  opt.run.model = "/work/models/sd15-random";
  if (const char* python = std::getenv("CROWDIFF_BASELINE_PYTHON"))
    opt.python = python;
  else
    opt.python = "/work/venv/bin/python";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--model" && has_value) {
      opt.run.model = argv[++i];
    } else if (arg == "--steps" && has_value) {
      opt.run.steps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--size" && has_value) {
      opt.run.size = std::max(64, std::atoi(argv[++i]));
    } else if (arg == "--threads" && has_value) {
      opt.run.threads = std::max(0, std::atoi(argv[++i]));
    } else if (arg == "--precision" && has_value) {
      opt.run.precision = argv[++i];
    } else if (arg == "--image" && has_value) {
      opt.run.output = argv[++i];
    } else if (arg == "--python" && has_value) {
      opt.python = argv[++i];
    } else if (arg == "--baseline-dtype" && has_value) {
      opt.baseline_dtype = argv[++i];
    } else if (arg == "--no-baseline") {
      opt.baseline = false;
    } else if (arg == "--run-ours") {
      opt.run_ours_only = true;
    } else {
      std::fprintf(
          stderr,
          "usage: %s [--model DIR] [--steps N] [--size PX] [--threads N] [--precision auto|bf16|f32]\n"
          "          [--python PATH | --no-baseline] [--baseline-dtype float32|bfloat16] [--image OUT]\n",
          argv[0]);
      return 2;
    }
  }
  if (opt.run_ours_only)
    return crowdiff::bench::run_pipeline(opt.run);
  return crowdiff::bench::run(opt, "/proc/self/exe");
}
