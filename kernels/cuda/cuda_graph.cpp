#include "kernels/cuda/cuda_graph.hpp"

#include <string>

#include <cuda_runtime_api.h>

#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/detail/backend_access.hpp"
#include "kernels/cuda/detail/cuda_check.hpp"
#include "kernels/status_macros.hpp"

namespace crowdiff::kernels {

struct cuda_graph::state {
  cuda::backend_internals* be = nullptr;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  std::vector<tensor> outputs;
  cuda::graph_memory memory;  // blocks the graph writes and host copies it uploads, pinned in the allocator
  size_t nodes = 0;

  ~state() {
    if (be == nullptr)
      return;
    cudaSetDevice(be->context().ordinal);
    cudaStreamSynchronize(be->context().stream);
    if (exec)
      cudaGraphExecDestroy(exec);
    if (graph)
      cudaGraphDestroy(graph);
    outputs.clear();
    be->allocator().release_pinned(memory);
  }
};

cuda_graph::cuda_graph(std::unique_ptr<state> s) : state_(std::move(s)) {}
cuda_graph::cuda_graph(cuda_graph&&) noexcept = default;
cuda_graph& cuda_graph::operator=(cuda_graph&&) noexcept = default;
cuda_graph::~cuda_graph() = default;

result<cuda_graph> cuda_graph::capture(backend& be, const step_fn& step) {
  cuda::backend_internals* internals = cuda::internals_of(be);
  if (internals == nullptr)
    return status{errc::invalid_argument, "cuda_graph: " + std::string(be.name()) + " is not a CUDA backend"};
  cuda::cuda_context& ctx = internals->context();
  CROWDIFF_CUDA_CHECK(cudaSetDevice(ctx.ordinal));
  { CROWDIFF_ASSIGN_OR_RETURN(std::vector<tensor> warm, step()); }
  CROWDIFF_RETURN_IF_ERROR(cuda_synchronize(be));

  // Every block the captured step uses must be made during the capture, so that it can be pinned: give the
  // arena's free blocks back first.
  be.memory().trim();
  auto s = std::make_unique<state>();
  internals->allocator().start_recording();
  // Relaxed: the allocator may cudaMalloc while this thread captures.
  if (const cudaError_t e = cudaStreamBeginCapture(ctx.stream, cudaStreamCaptureModeRelaxed);
      e != cudaSuccess) {
    internals->allocator().release_pinned(internals->allocator().stop_recording());
    return cuda::cuda_error(e, "cudaStreamBeginCapture", __FILE__, __LINE__);
  }
  auto outputs = step();
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(ctx.stream, &graph);
  s->memory = internals->allocator().stop_recording();
  s->be = internals;  // from here on, the state releases the pinned memory
  s->graph = graph;
  if (!outputs)
    return outputs.error();
  if (ended != cudaSuccess)
    return cuda::cuda_error(ended, "cudaStreamEndCapture", __FILE__, __LINE__);
  s->outputs = std::move(*outputs);
  // The step's intermediates are back in the arena's free lists: hand them to the allocator, which keeps them
  // for the graph.
  be.memory().trim();
  CROWDIFF_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &s->nodes));
  CROWDIFF_CUDA_CHECK(cudaGraphInstantiate(&s->exec, graph, 0));
  return cuda_graph(std::move(s));
}

status cuda_graph::replay() {
  const cuda::cuda_context& ctx = state_->be->context();
  CROWDIFF_CUDA_CHECK(cudaSetDevice(ctx.ordinal));
  CROWDIFF_CUDA_CHECK(cudaGraphLaunch(state_->exec, ctx.stream));
  return status::ok();
}

const std::vector<tensor>& cuda_graph::outputs() const {
  return state_->outputs;
}

size_t cuda_graph::nodes() const {
  return state_->nodes;
}

}  // namespace crowdiff::kernels
