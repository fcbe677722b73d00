#pragma once

// A host emulation of the CUDA execution model, just enough for kernels/cuda's hand-written kernels
// (kernels/cuda/detail/device_primitives.cuh): blocks run one after another; a block's threads run as
// coroutines on one OS thread, switched only at barriers (__syncthreads, and the warp-wide exchanges behind
// shuffles, ldmatrix and mma.sync), so every interleaving is deterministic. The tensor-core instructions are
// emulated lane by lane from PTX's fragment layouts, which is what makes a wrong fragment index show up as a
// wrong result here rather than on a GPU. Dynamic shared memory starts filled with NaN bits, so that reading
// what no thread wrote shows.

#include <functional>

#include "kernels/cuda/detail/device_primitives.cuh"

namespace crowdiff::kernels::cuda::emu {

/// Runs `kernel` (one kernel invocation, as the thread running it sees it) for every thread of every block
/// of `dims`. Aborts the program with a message on a deadlock (threads of a block waiting at different
/// barriers).
void launch(const launch_dims& dims, const std::function<void()>& kernel);

}  // namespace crowdiff::kernels::cuda::emu
