#pragma once

// Replaying a UNet step (or any fixed sequence of a CUDA backend's ops) as one CUDA graph: one launch instead
// of hundreds, no CPU work between the kernels.

#include <functional>
#include <memory>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"

namespace crowdiff::kernels {

/// A captured sequence of ops on a CUDA backend. `capture` runs `step` once to warm up (plans, workspaces,
/// module loading), then again under stream capture; `replay` enqueues the recorded kernels on the backend's
/// stream, writing into the same memory every time:
///
///   - inputs are tensors the step reads that were made before the capture (keep them alive, and change
///     them in place between replays, e.g. `be.convert(new_latents, t, /*out=*/input)`);
///   - outputs are the tensors `step` returns; the graph keeps them, and each replay rewrites them;
///   - everything else the step makes belongs to the graph until it is destroyed (no other op can get that
///     memory), so the step must not keep other tensors it made;
///   - host data the step uploads (the UNet's time-embedding features) is copied into page-locked memory the
///     graph keeps, and every replay uploads those same values: a constant of the graph. Data that changes
///     between replays must be an input.
///
/// The step may not synchronize (no `download`, no `embedding`, whose ids are checked on the host), and must
/// enqueue the same work every time. Destroy the graph before its backend.
class cuda_graph {
 public:
  using step_fn = std::function<result<std::vector<tensor>>()>;

  /// invalid_argument when `be` is not a CUDA backend; the step's own error; the CUDA error of a capture that
  /// failed (e.g. the step synchronized).
  static result<cuda_graph> capture(backend& be, const step_fn& step);

  cuda_graph(cuda_graph&&) noexcept;
  cuda_graph& operator=(cuda_graph&&) noexcept;
  ~cuda_graph();

  /// Enqueues one replay on the backend's stream (asynchronous: `download` or `cuda_synchronize` waits).
  status replay();
  /// The step's outputs, rewritten by each replay.
  const std::vector<tensor>& outputs() const;
  /// Kernels and copies in the graph.
  size_t nodes() const;

 private:
  struct state;
  explicit cuda_graph(std::unique_ptr<state> s);
  std::unique_ptr<state> state_;
};

}  // namespace crowdiff::kernels
