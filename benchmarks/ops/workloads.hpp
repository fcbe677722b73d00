#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"

namespace crowdiff::bench {

/// Runs an op once on prepared inputs (its output goes back to the arena).
using runner = std::function<status()>;

/// A named op at a Stable Diffusion 1.5 shape (512x512 image, latent 64x64, batch 2 for classifier-free
/// guidance). `setup` makes random inputs on a backend (weights prepared as a model would) and returns the
/// runner; with `slice` it makes the reduced problem the reference backend is timed on instead.
struct workload {
  std::string name;
  std::string shape;
  double gflop = 0;           ///< Multiply-adds x 2 of one full run; 0 for data-movement ops.
  double slice_fraction = 1;  ///< The slice's share of the full work.
  std::function<result<runner>(kernels::backend&, bool slice)> setup;
};

std::vector<workload> sd15_workloads();

}  // namespace crowdiff::bench
