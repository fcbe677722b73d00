// CUDA graphs over the backend: a captured chain of ops replays to the same results as running it eagerly,
// after its input changes in place; an upload in the step replays the captured values; a step that
// synchronizes cannot be captured.

#include <boost/test/unit_test.hpp>

#include "cuda_test_util.hpp"
#include "gpu_fixture.hpp"
#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/cuda_graph.hpp"
#include "kernels/status_macros.hpp"

namespace crowdiff::kernels::cuda::test {

BOOST_AUTO_TEST_SUITE(cuda_graphs, *boost::unit_test::precondition(gpu_available))

BOOST_AUTO_TEST_CASE(replay_matches_eager) {
  backend& be = *gpu(dtype::f16);
  const tensor w =
      unwrap(be.prepare_weight(random_f32({64, 64}, 1400, -0.2f, 0.2f), weight_use::linear), "w");
  const tensor gamma =
      unwrap(be.prepare_weight(random_f32({16}, 1401, 0.5f, 1.5f), weight_use::other), "gamma");
  const tensor input = to_device(be, random_f32({2, 16, 8, 64}, 1402));
  // A ResNet-ish chain: norm + SiLU, a projection, attention, a residual add.
  const auto step = [&]() -> result<std::vector<tensor>> {
    CROWDIFF_ASSIGN_OR_RETURN(tensor h, be.group_norm(input, 4, gamma, {}, 1e-5f, true));
    CROWDIFF_ASSIGN_OR_RETURN(h, be.linear(h, w));
    CROWDIFF_ASSIGN_OR_RETURN(tensor tokens, h.reshape({2, 128, 64}));
    CROWDIFF_ASSIGN_OR_RETURN(tensor a, be.attention(tokens, tokens, tokens, 1));
    CROWDIFF_ASSIGN_OR_RETURN(a, a.reshape({2, 16, 8, 64}));
    CROWDIFF_ASSIGN_OR_RETURN(tensor out, be.add(a, input));
    return std::vector<tensor>{out};
  };
  cuda_graph graph = unwrap(cuda_graph::capture(be, step), "capture");
  BOOST_TEST(graph.nodes() >= 5u);
  for (uint64_t seed : {1410u, 1411u}) {
    const tensor fresh = to_device(be, random_f32({2, 16, 8, 64}, seed));
    BOOST_TEST_REQUIRE(be.convert(fresh, dtype::f16, input).has_value());  // new input, same memory
    BOOST_TEST_REQUIRE(graph.replay().is_ok());
    const tensor replayed = to_host(be, graph.outputs().front());
    const tensor eager = to_host(be, unwrap(step(), "eager").front());
    check_exact(replayed, eager, "replay == eager");
  }
}

// An upload inside the step (as the UNet's time embedding makes one) is a constant of the graph: the replay
// uploads the values of the capture from the graph's own page-locked copy, though the step's host tensor is
// gone and its memory reused.
BOOST_AUTO_TEST_CASE(an_upload_in_the_step_replays_its_captured_values) {
  backend& be = *gpu(dtype::f16);
  const tensor input = to_device(be, random_f32({3, 37}, 1450));
  tensor host = random_f32({3, 37}, 1451);
  const tensor captured_values = converted(host, dtype::f32);  // a copy: `host` is overwritten below
  const auto step = [&]() -> result<std::vector<tensor>> {
    CROWDIFF_ASSIGN_OR_RETURN(tensor uploaded, be.upload(host));
    CROWDIFF_ASSIGN_OR_RETURN(tensor out, be.add(input, uploaded));
    return std::vector<tensor>{out};
  };
  cuda_graph graph = unwrap(cuda_graph::capture(be, step), "capture");
  const tensor expected = to_host(be, unwrap(step(), "eager").front());
  host = random_f32({3, 37}, 1452);  // the step's host tensor is gone; new values elsewhere
  BOOST_TEST_REQUIRE(graph.replay().is_ok());
  check_exact(to_host(be, graph.outputs().front()), expected, "replay uploads the captured values");
  const tensor sum = unwrap(be.add(input, to_device(be, captured_values)), "sum");
  check_exact(to_host(be, sum), expected, "the captured values are the step's");
}

BOOST_AUTO_TEST_CASE(a_step_that_synchronizes_is_refused) {
  backend& be = *gpu(dtype::f16);
  const tensor x = to_device(be, random_f32({4, 4}, 1500));
  const auto step = [&]() -> result<std::vector<tensor>> {
    CROWDIFF_ASSIGN_OR_RETURN(tensor y, be.silu(x));
    tensor host = *tensor::host({4, 4}, dtype::f32);
    CROWDIFF_RETURN_IF_ERROR(be.download(y, host));
    return std::vector<tensor>{y};
  };
  BOOST_TEST(!cuda_graph::capture(be, step).has_value());
  BOOST_TEST(unwrap(be.silu(x), "the backend still works").defined());
  BOOST_TEST(cuda_synchronize(be).is_ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::cuda::test
