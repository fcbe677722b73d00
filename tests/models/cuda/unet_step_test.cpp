// The whole UNet step on the CUDA backend (f16 activations) against the CPU backend (f32) on the tiny SD1
// and SD2 models, and the step captured as a CUDA graph (as bench gpu_throughput times it) against running
// it.

#include <cmath>

#include <boost/test/unit_test.hpp>

#include "cuda_fixture.hpp"
#include "kernels/cuda/cuda_graph.hpp"
#include "kernels/status_macros.hpp"
#include "models/nn/weight_loader.hpp"
#include "models/unet/unet_model.hpp"
#include "tests/models/tiny_models.hpp"

using namespace crowdiff;
using namespace crowdiff::models;
namespace t = crowdiff::models::testing;

namespace {

// ||ours - reference||_2 / ||reference||_2, and whether every value is finite.
double relative_rms(const std::vector<float>& ours, const std::vector<float>& reference) {
  BOOST_REQUIRE_EQUAL(ours.size(), reference.size());
  double error = 0, norm = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    BOOST_REQUIRE_MESSAGE(std::isfinite(ours[i]), "value " << i << " is " << ours[i]);
    const double d = static_cast<double>(ours[i]) - reference[i];
    error += d * d;
    norm += static_cast<double>(reference[i]) * reference[i];
  }
  return norm == 0 ? std::sqrt(error) : std::sqrt(error / norm);
}

unet_model load_unet(const model_weights& weights, kernels::backend& be) {
  weight_loader loader(weights, be);
  auto unet = unet_model::load(loader, weights.config().unet);
  BOOST_REQUIRE_MESSAGE(unet, unet.to_status().to_string());
  return std::move(*unet);
}

kernels::tensor upload(kernels::backend& be, const kernels::tensor& host) {
  auto t = be.upload(host);
  BOOST_REQUIRE_MESSAGE(t, t.to_status().to_string());
  return *t;
}

// A guidance batch: the reference input and context twice, the second latent negated (rows must not mix).
std::pair<kernels::tensor, kernels::tensor> guidance_batch(kernels::backend& be, const std::string& family) {
  const kernels::tensor x = t::host_tensor(t::reference(family, "unet_input"));
  const kernels::tensor context = t::host_tensor(t::reference(family, "unet_context"));
  auto x2 = kernels::tensor::host({2, x.size(1), x.size(2), x.size(3)}, kernels::dtype::f32);
  auto context2 = kernels::tensor::host({2, context.size(1), context.size(2)}, kernels::dtype::f32);
  BOOST_REQUIRE(x2 && context2);
  const int64_t n = x.numel(), m = context.numel();
  for (int64_t i = 0; i < n; ++i) {
    x2->mutable_data_as<float>()[i] = x.data_as<float>()[i];
    x2->mutable_data_as<float>()[n + i] = -x.data_as<float>()[i];
  }
  for (int64_t i = 0; i < m; ++i)
    context2->mutable_data_as<float>()[i] = context2->mutable_data_as<float>()[m + i] =
        context.data_as<float>()[i];
  return {upload(be, *x2), upload(be, *context2)};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_unet_step, *boost::unit_test::precondition(t::gpu_available))

// Tolerance: relative RMS <= 1e-2. Every product of the step is within 2e-3 of the f32 reference in f16
// (the kernel tests' bound, measured ~3e-4), and every activation is rounded to f16 between ops (2^-11,
// ~5e-4 relative). The tiny UNets chain ~40 such ops; their independent errors add roughly in quadrature and
// the norms rescale rather than amplify them, giving a few 1e-3. 1e-2 keeps a margin over that and still
// fails a wrong layout, a wrong head split or a dropped bias, which cost errors of order 1e-1 to 1.
BOOST_AUTO_TEST_CASE(matches_the_cpu_backend) {
  kernels::backend& gpu = *t::cuda_f16();
  auto cpu = t::cpu_f32();
  for (const auto& c : t::tiny_cases()) {
    if (c.single_file)
      continue;  // the same tensors under other names: the layouts are the CPU tests' concern
    const model_weights weights = t::open_tiny(c);
    const unet_model on_gpu = load_unet(weights, gpu);
    const unet_model on_cpu = load_unet(weights, *cpu);
    const auto gpu_inputs = guidance_batch(gpu, c.family);
    const auto cpu_inputs = guidance_batch(*cpu, c.family);
    for (const double timestep : {999.0, 500.0, 37.25}) {
      const double ts[] = {timestep};
      auto ours = on_gpu(gpu, gpu_inputs.first, ts, gpu_inputs.second);
      auto expected = on_cpu(*cpu, cpu_inputs.first, ts, cpu_inputs.second);
      BOOST_REQUIRE_MESSAGE(ours, ours.to_status().to_string());
      BOOST_REQUIRE_MESSAGE(expected, expected.to_status().to_string());
      const double error = relative_rms(t::values(gpu, *ours), t::values(*cpu, *expected));
      BOOST_TEST_MESSAGE(c.label << " t=" << timestep << ": relative RMS error " << error);
      BOOST_TEST(error <= 1e-2, c.label << " t=" << timestep << ": relative RMS error " << error);
    }
  }
}

// The benchmark's path: the step captured once, replayed after its latent input changed in place, gives what
// running the step on that input gives (the timestep's features are a constant of the graph).
BOOST_AUTO_TEST_CASE(a_captured_step_replays_as_it_runs) {
  kernels::backend& gpu = *t::cuda_f16();
  const auto c = t::tiny_cases().front();
  const model_weights weights = t::open_tiny(c);
  const unet_model unet = load_unet(weights, gpu);
  const auto inputs = guidance_batch(gpu, c.family);
  const kernels::tensor& x = inputs.first;
  const kernels::tensor& context = inputs.second;
  const double ts[] = {500.0};
  const auto step = [&]() -> result<std::vector<kernels::tensor>> {
    CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor out, unet(gpu, x, ts, context));
    return std::vector<kernels::tensor>{out};
  };
  auto graph = kernels::cuda_graph::capture(gpu, step);
  BOOST_REQUIRE_MESSAGE(graph, graph.to_status().to_string());
  BOOST_TEST(graph->nodes() > 50u);
  for (const float factor : {1.0f, -0.5f}) {
    // New latents in the same memory.
    auto scaled = gpu.scale(x, factor);
    BOOST_REQUIRE(scaled);
    BOOST_REQUIRE(gpu.convert(*scaled, x.dtype(), x));
    BOOST_REQUIRE(graph->replay().is_ok());
    const auto replayed = t::values(gpu, graph->outputs().front());
    auto eager = step();
    BOOST_REQUIRE_MESSAGE(eager, eager.to_status().to_string());
    // Bit-exact where the libraries pick deterministic kernels, which they do for these shapes; the bound
    // only allows for a reduction order that differs between runs.
    const double error = relative_rms(replayed, t::values(gpu, eager->front()));
    BOOST_TEST(error <= 1e-3, "factor " << factor << ": replay against eager " << error);
  }
}

BOOST_AUTO_TEST_SUITE_END()
