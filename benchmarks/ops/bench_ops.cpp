// bench_ops: times the CPU backend's ops at Stable Diffusion 1.5 shapes in f32 and in bf16, against the
// plain-loop reference backend, and prints a table and one JSON line.
//
//   bench_ops [--filter SUBSTRING] [--repeats N] [--threads N] [--no-reference] [--cpu-clock]
//
// --cpu-clock times with the process's CPU time instead of the wall clock: on a machine shared with other
// work it does not count the time this process waits for a core, which makes single-threaded tuning runs
// repeatable (with several threads it sums them, so leave it off to compare thread counts).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/common/report_cells.hpp"
#include "kernels/cpu/cpu_backend.hpp"
#include "kernels/reference/reference_backend.hpp"
#include "workloads.hpp"

namespace crowdiff::bench {
namespace {

struct options {
  std::string filter;
  int repeats = 5;
  int threads = 0;
  bool reference = true;
  bool cpu_clock = false;
};

double now_ms(bool cpu_clock) {
  timespec ts{};
  clock_gettime(cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

// Median of `repeats` runs in milliseconds, after one warm-up run (which also builds oneDNN's primitives and
// fills the arena). nullopt when the op fails.
std::optional<double> measure(const runner& run, int repeats, bool cpu_clock) {
  if (!run().is_ok())
    return std::nullopt;
  std::vector<double> ms(static_cast<size_t>(repeats));
  for (double& m : ms) {
    const double start = now_ms(cpu_clock);
    if (!run().is_ok())
      return std::nullopt;
    m = now_ms(cpu_clock) - start;
  }
  std::nth_element(ms.begin(), ms.begin() + repeats / 2, ms.end());
  return ms[static_cast<size_t>(repeats / 2)];
}

std::optional<double> time_on(kernels::backend& be, const workload& w, bool slice, int repeats,
                              bool cpu_clock) {
  auto run = w.setup(be, slice);
  if (!run) {
    std::fprintf(stderr, "%s on %s: %s\n", w.name.c_str(), std::string(be.name()).c_str(),
                 run.error().to_string().c_str());
    return std::nullopt;
  }
  return measure(*run, repeats, cpu_clock);
}

int run(const options& opt) {
  auto f32 = kernels::make_cpu_backend({kernels::cpu_precision::f32, opt.threads});
  if (!f32) {
    std::fprintf(stderr, "cpu backend: %s\n", f32.error().to_string().c_str());
    return 1;
  }
  auto bf16 = kernels::make_cpu_backend({kernels::cpu_precision::bf16, opt.threads});
  if (!bf16)
    std::fprintf(stderr, "bf16 column skipped: %s\n", bf16.error().to_string().c_str());
  auto reference = kernels::make_reference_backend();
  const kernels::cpu_features features = kernels::detect_cpu_features();

  const int threads = opt.threads > 0 ? opt.threads : static_cast<int>(std::thread::hardware_concurrency());
  std::printf(
      "bench_ops: SD 1.5 shapes (512x512, batch 2); median of %d runs (%s clock); threads %d; avx512 %d, "
      "avx512_bf16 %d, amx %d\n",
      opt.repeats, opt.cpu_clock ? "cpu" : "wall", threads, features.avx512, features.avx512_bf16,
      features.amx_bf16);
  std::printf("%-22s %-36s %9s %9s %9s %9s %10s %8s %8s\n", "workload", "shape", "f32 ms", "bf16 ms",
              "f32 GF/s", "bf16 GF/s", "ref ms*", "f32/ref", "bf16/f32");
  std::string json = "{\"bench\":\"ops\",\"clock\":\"" + std::string(opt.cpu_clock ? "cpu" : "wall") +
                     "\",\"threads\":" + std::to_string(threads) +
                     ",\"avx512_bf16\":" + (features.avx512_bf16 ? "true" : "false") +
                     ",\"amx\":" + (features.amx_bf16 ? "true" : "false") + ",\"workloads\":[";
  bool first = true;
  double log_speedup = 0;
  int compute_ops = 0;
  for (const workload& w : sd15_workloads()) {
    if (!opt.filter.empty() && w.name.find(opt.filter) == std::string::npos)
      continue;
    std::optional<double> f32_ms, bf16_ms, ref_ms;
    if (auto t = time_on(**f32, w, false, opt.repeats, opt.cpu_clock))
      f32_ms = *t;
    if (bf16)
      if (auto t = time_on(**bf16, w, false, opt.repeats, opt.cpu_clock))
        bf16_ms = *t;
    if (opt.reference)
      if (auto t = time_on(*reference, w, w.slice_fraction < 1.0, 1, opt.cpu_clock))
        ref_ms = *t / w.slice_fraction;
    const auto rate = [&](const std::optional<double>& ms) -> std::optional<double> {
      return ms && w.gflop > 0 ? std::optional<double>(w.gflop / (*ms * 1e-3)) : std::nullopt;
    };
    const auto ratio = [](const std::optional<double>& a,
                          const std::optional<double>& b) -> std::optional<double> {
      return a && b && *b > 0 ? std::optional<double>(*a / *b) : std::nullopt;
    };
    std::printf("%-22s %-36s %9s %9s %9s %9s %10s %8s %8s\n", w.name.c_str(), w.shape.c_str(),
                cell(f32_ms, "%.2f").c_str(), cell(bf16_ms, "%.2f").c_str(),
                cell(rate(f32_ms), "%.0f").c_str(), cell(rate(bf16_ms), "%.0f").c_str(),
                cell(ref_ms, "%.0f").c_str(), cell(ratio(ref_ms, f32_ms), "%.1fx").c_str(),
                cell(ratio(f32_ms, bf16_ms), "%.2fx").c_str());
    std::fflush(stdout);
    json += std::string(first ? "" : ",") + "{\"name\":\"" + w.name + "\",\"gflop\":" + json_number(w.gflop) +
            ",\"f32_ms\":" + json_number(f32_ms) + ",\"bf16_ms\":" + json_number(bf16_ms) +
            ",\"ref_ms\":" + json_number(ref_ms) +
            ",\"bf16_speedup\":" + json_number(ratio(f32_ms, bf16_ms)) +
            ",\"f32_vs_ref\":" + json_number(ratio(ref_ms, f32_ms)) + "}";
    first = false;
    if (w.gflop > 0 && f32_ms && bf16_ms) {
      log_speedup += std::log(*f32_ms / *bf16_ms);
      ++compute_ops;
    }
  }
  const std::optional<double> geomean =
      compute_ops > 0 ? std::optional<double>(std::exp(log_speedup / compute_ops)) : std::nullopt;
  std::printf("bf16 over f32 on matmul, conv and attention (geometric mean): %s\n",
              cell(geomean, "%.2fx").c_str());
  std::printf(
      "* the reference runs plain loops (f64 sums, one thread); for matmul, conv and attention it is timed "
      "on "
      "a slice of the workload and scaled by its share of the work.\n");
  std::printf("%s],\"bf16_speedup_geomean\":%s}\n", json.c_str(), json_number(geomean).c_str());
  return 0;
}

}  // namespace
}  // namespace crowdiff::bench

int main(int argc, char** argv) {
  crowdiff::bench::options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--filter" && has_value) {
      opt.filter = argv[++i];
    } else if (arg == "--repeats" && has_value) {
      opt.repeats = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--threads" && has_value) {
      opt.threads = std::max(0, std::atoi(argv[++i]));
    } else if (arg == "--no-reference") {
      opt.reference = false;
    } else if (arg == "--cpu-clock") {
      opt.cpu_clock = true;
    } else {
      std::fprintf(
          stderr,
          "usage: %s [--filter SUBSTRING] [--repeats N] [--threads N] [--no-reference] [--cpu-clock]\n",
          argv[0]);
      return 2;
    }
  }
  return crowdiff::bench::run(opt);
}
