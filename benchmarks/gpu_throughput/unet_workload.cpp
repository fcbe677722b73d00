#include "unet_workload.hpp"

#include <random>
#include <vector>

#include "kernels/cuda/cuda_graph.hpp"
#include "kernels/status_macros.hpp"
#include "models/nn/weight_loader.hpp"
#include "models/unet/unet_tensors.hpp"
#include "models/weights/random_weights.hpp"
#include "workloads.hpp"

namespace crowdiff::bench {

namespace {

// The step's inputs: what a sampler hands the UNet at the first step of a txt2img job.
constexpr int64_t context_tokens = 77;
constexpr double timestep = 999;
// Per round of the median, as baseline.py times diffusers: 3 warm-up calls, then 5 rounds of 3.
constexpr int calls_per_round = 3;
constexpr int rounds = 5;

result<kernels::tensor> random_input(kernels::backend& be, const kernels::shape& s, uint64_t seed) {
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor host, kernels::tensor::host(s, kernels::dtype::f32));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t i = 0; i < s.numel(); ++i)
    host.mutable_data_as<float>()[i] = normal(rng);
  return be.upload(host);
}

}  // namespace

result<std::unique_ptr<unet_workload>> unet_workload::load(kernels::backend& be) {
  models::model_config config;
  config.unet = models::sd1_unet_config();
  CROWDIFF_ASSIGN_OR_RETURN(const std::vector<models::tensor_spec> specs,
                            models::unet_tensor_specs(config.unet));
  models::random_weights_options options;
  options.seed = 1500;
  options.stored = kernels::dtype::f16;
  CROWDIFF_ASSIGN_OR_RETURN(models::model_weights weights, models::random_weights(specs, config, options));
  std::unique_ptr<unet_workload> workload(new unet_workload(be, std::move(weights)));
  models::weight_loader loader(workload->weights_, be);
  CROWDIFF_ASSIGN_OR_RETURN(workload->unet_, models::unet_model::load(loader, config.unet));
  workload->weight_bytes_ = loader.bytes();
  return workload;
}

result<unet_timing> unet_workload::time_step(const unet_run& run) {
  if (run.batch < 1 || run.size < 8 || run.size % 8 != 0)
    return status{errc::invalid_argument, "unet run: batch " + std::to_string(run.batch) + " at " +
                                              std::to_string(run.size) + " pixels"};
  const int64_t rows = 2 * int64_t{run.batch}, side = run.size / 8;
  const models::model_config& config = weights_.config();
  CROWDIFF_ASSIGN_OR_RETURN(const kernels::tensor x,
                            random_input(be_, {rows, config.unet.in_channels, side, side}, 1501));
  CROWDIFF_ASSIGN_OR_RETURN(const kernels::tensor context,
                            random_input(be_, {rows, context_tokens, config.unet.cross_attention_dim}, 1502));
  const double timesteps[] = {timestep};
  const auto step = [&]() -> result<std::vector<kernels::tensor>> {
    CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor out, unet_(be_, x, timesteps, context));  // [rows, 4, s, s]
    return std::vector<kernels::tensor>{out};
  };

  unet_timing timing;
  CROWDIFF_ASSIGN_OR_RETURN(timing.eager_seconds,
                            median_seconds(be_, calls_per_round, rounds, [&] { return step().to_status(); }));
  {
    auto graph = kernels::cuda_graph::capture(be_, step);
    if (graph) {
      CROWDIFF_ASSIGN_OR_RETURN(
          const double replay, median_seconds(be_, calls_per_round, rounds, [&] { return graph->replay(); }));
      timing.graph_seconds = replay;
    } else {
      timing.note = "graph capture failed (" + graph.error().to_string() + ")";
    }
  }                     // the graph's memory goes back before anything else runs
  be_.memory().trim();  // the next run has other activation sizes
  return timing;
}

}  // namespace crowdiff::bench
