// bench gpu_throughput: the CUDA backend against PyTorch + diffusers on the same GPU, in one run.
//
//   gpu_throughput [--python PYTHON] [--baseline-script PATH] [--no-baseline] [--steps N]
//
// Times our fused attention on the attention shapes of SD 1.5 (512x512, CFG batch 2), 2.x/XL and a 128-wide
// head (TFLOP/s), and an SD 1.5 UNet step (full size, random f16 weights, replayed as a CUDA graph) at
// 512x512 (batch 1, 2, 4, 8; CFG doubles the rows) and at 768 and 1024 (steps/s, images/s at --steps steps);
// then runs baseline.py for the same work with PyTorch's scaled_dot_product_attention (the fastest backend it
// has per shape) and diffusers' UNet2DConditionModel, all in f16. Prints a table with the ratios and, last,
// one JSON line:
// {"bench", "device", "unet_steps_per_s", "baseline_unet_steps_per_s", "attention_tflops",
//  "baseline_attention_tflops", ...}; the headline figures are SD 1.5's 64x64 self-attention and its 512x512
// batch-1 UNet step. Without a GPU it says so, prints that JSON line with "device": "none", and exits 1.

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "baseline.hpp"
#include "benchmarks/common/report_cells.hpp"
#include "kernels/cuda/cuda_backend.hpp"
#include "unet_workload.hpp"
#include "workloads.hpp"

namespace crowdiff::bench {
namespace {

struct options {
  std::string python = "python3";
  std::string script = CROWDIFF_BASELINE_SCRIPT;
  bool baseline = true;
  int steps = 20;
};

nlohmann::json number_or_null(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::optional<double> ratio(const std::optional<double>& ours, const std::optional<double>& theirs) {
  if (!ours || !theirs || *theirs <= 0)
    return std::nullopt;
  return *ours / *theirs;
}

int run(const options& o) {
  auto be = kernels::make_cuda_backend({0, kernels::dtype::f16});
  if (!be) {
    std::printf("gpu_throughput: no GPU, nothing measured (%s)\n", be.error().to_string().c_str());
    nlohmann::json j{{"bench", "gpu_throughput"},
                     {"device", "none"},
                     {"reason", be.error().to_string()},
                     {"unet_steps_per_s", nullptr},
                     {"baseline_unet_steps_per_s", nullptr},
                     {"attention_tflops", nullptr},
                     {"baseline_attention_tflops", nullptr}};
    std::printf("%s\n", j.dump().c_str());
    return 1;
  }
  auto devices = kernels::cuda_devices();
  const std::string device = devices && !devices->empty() ? devices->front().to_string() : "cuda:0";
  std::printf("gpu_throughput on %s, f16\n\n", device.c_str());

  const std::vector<attention_shape> shapes = attention_shapes();
  std::vector<std::optional<double>> ours_tflops;
  for (const attention_shape& s : shapes) {
    const auto seconds = time_attention(**be, s);
    if (!seconds)
      std::fprintf(stderr, "attention %s: %s\n", s.name.c_str(), seconds.error().to_string().c_str());
    ours_tflops.push_back(seconds ? std::optional<double>(s.flops() / *seconds / 1e12) : std::nullopt);
  }

  const std::vector<unet_run> runs = {{512, 1}, {512, 2}, {512, 4}, {512, 8}, {768, 1}, {1024, 1}};
  // Eager (op by op) is what workers run and so the headline; a graph replay shows the launch overhead left.
  std::vector<std::optional<double>> ours_steps(runs.size()), ours_graph_steps(runs.size());
  std::string unet_note;  // why some or all UNet rows are missing or have no graph figure
  {
    std::fprintf(stderr, "making and loading the random SD 1.5 UNet\n");
    auto workload = unet_workload::load(**be);
    if (!workload)
      unet_note = "UNet not measured: " + workload.error().to_string();
    for (size_t i = 0; workload && i < runs.size(); ++i) {
      const unet_run& r = runs[i];
      const auto timing = (*workload)->time_step(r);
      if (!timing) {
        std::fprintf(stderr, "unet %dx%d batch %d: %s\n", r.size, r.size, r.batch,
                     timing.error().to_string().c_str());
        continue;
      }
      ours_steps[i] = 1.0 / timing->eager_seconds;
      if (timing->graph_seconds)
        ours_graph_steps[i] = 1.0 / *timing->graph_seconds;
      else if (unet_note.empty())
        unet_note = timing->note;
    }
  }             // the UNet's weights leave the GPU
  be->reset();  // give the GPU to the baseline

  baseline_result base;
  std::string baseline_note;
  if (o.baseline) {
    std::fprintf(stderr, "running the PyTorch baseline: %s %s\n", o.python.c_str(), o.script.c_str());
    auto measured = run_baseline(o.python, o.script, shapes, runs, o.steps);
    if (measured)
      base = std::move(*measured);
    else
      baseline_note = measured.error().to_string();
  } else {
    baseline_note = "not run (--no-baseline)";
  }
  base.attention_tflops.resize(shapes.size());
  base.attention_backend.resize(shapes.size());
  base.unet_steps_per_s.resize(runs.size());
  base.unet_images_per_s.resize(runs.size());

  std::printf("%-20s %-24s %12s %14s %-10s %7s\n", "attention", "b x h x lq x lk x d", "ours TFLOP/s",
              "torch TFLOP/s", "(backend)", "ratio");
  nlohmann::json attention_rows = nlohmann::json::array();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const attention_shape& s = shapes[i];
    const std::string dims = std::to_string(s.batch) + "x" + std::to_string(s.heads) + "x" +
                             std::to_string(s.lq) + "x" + std::to_string(s.lk) + "x" +
                             std::to_string(s.head_dim);
    std::printf("%-20s %-24s %12s %14s %-10s %7s\n", s.name.c_str(), dims.c_str(),
                cell(ours_tflops[i]).c_str(), cell(base.attention_tflops[i]).c_str(),
                base.attention_backend[i].c_str(),
                cell(ratio(ours_tflops[i], base.attention_tflops[i]), "%.2f").c_str());
    attention_rows.push_back({{"name", s.name},
                              {"shape", {s.batch, s.heads, s.lq, s.lk, s.head_dim}},
                              {"tflops", number_or_null(ours_tflops[i])},
                              {"baseline_tflops", number_or_null(base.attention_tflops[i])},
                              {"baseline_backend", base.attention_backend[i]}});
  }

  std::printf("\n%-10s %6s %10s %10s %10s %14s %14s %7s\n", "unet", "batch", "ours it/s", "graph it/s",
              "ours img/s", "diffusers it/s", "diffusers img/s", "ratio");
  nlohmann::json unet_rows = nlohmann::json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    const unet_run& r = runs[i];
    std::optional<double> images;
    if (ours_steps[i].has_value())
      images.emplace(ours_steps[i].value_or(0.0) * r.batch / o.steps);
    const std::string size = std::to_string(r.size) + "x" + std::to_string(r.size);
    std::printf("%-10s %6d %10s %10s %10s %14s %14s %7s\n", size.c_str(), r.batch,
                cell(ours_steps[i], "%.2f").c_str(), cell(ours_graph_steps[i], "%.2f").c_str(),
                cell(images, "%.2f").c_str(), cell(base.unet_steps_per_s[i], "%.2f").c_str(),
                cell(base.unet_images_per_s[i], "%.2f").c_str(),
                cell(ratio(ours_steps[i], base.unet_steps_per_s[i]), "%.2f").c_str());
    unet_rows.push_back({{"size", r.size},
                         {"batch", r.batch},
                         {"steps_per_s", number_or_null(ours_steps[i])},
                         {"graph_steps_per_s", number_or_null(ours_graph_steps[i])},
                         {"images_per_s", number_or_null(images)},
                         {"baseline_steps_per_s", number_or_null(base.unet_steps_per_s[i])},
                         {"baseline_images_per_s", number_or_null(base.unet_images_per_s[i])}});
  }
  if (!unet_note.empty())
    std::printf("ours: %s\n", unet_note.c_str());
  if (!baseline_note.empty())
    std::printf("baseline: %s\n", baseline_note.c_str());
  for (const std::string& e : base.errors)
    std::printf("baseline: %s\n", e.c_str());
  std::printf(
      "images/s = batch x steps/s / %d steps (UNet only); ours it/s: op by op, as workers run it (the "
      "ratio's side); graph it/s: the same step replayed as one CUDA graph\n\n",
      o.steps);

  nlohmann::json j{{"bench", "gpu_throughput"},
                   {"device", device},
                   {"dtype", "f16"},
                   {"unet_steps_per_s", number_or_null(ours_steps[0])},
                   {"baseline_unet_steps_per_s", number_or_null(base.unet_steps_per_s[0])},
                   {"unet_ratio", number_or_null(ratio(ours_steps[0], base.unet_steps_per_s[0]))},
                   {"unet_graph_steps_per_s", number_or_null(ours_graph_steps[0])},
                   {"attention_tflops", number_or_null(ours_tflops[0])},
                   {"baseline_attention_tflops", number_or_null(base.attention_tflops[0])},
                   {"attention_ratio", number_or_null(ratio(ours_tflops[0], base.attention_tflops[0]))},
                   {"baseline_device", base.device},
                   {"torch", base.torch},
                   {"diffusers", base.diffusers},
                   {"attention", attention_rows},
                   {"unet", unet_rows}};
  if (!unet_note.empty())
    j["unet_note"] = unet_note;
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace crowdiff::bench

int main(int argc, char** argv) {
  crowdiff::bench::options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--python" && i + 1 < argc) {
      o.python = argv[++i];
    } else if (arg == "--baseline-script" && i + 1 < argc) {
      o.script = argv[++i];
    } else if (arg == "--no-baseline") {
      o.baseline = false;
    } else if (arg == "--steps" && i + 1 < argc) {
      o.steps = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: gpu_throughput [--python PYTHON] [--baseline-script PATH] [--no-baseline] "
                   "[--steps N]\n");
      return 2;
    }
  }
  return crowdiff::bench::run(o);
}
