#pragma once

// What the CUDA graph helper needs of a CUDA backend besides the public interface: its context (stream) and
// its allocator (graph memory).

#include "kernels/backend.hpp"
#include "kernels/cuda/detail/cuda_context.hpp"
#include "kernels/cuda/detail/stream_allocator.hpp"

namespace crowdiff::kernels::cuda {

/// Implemented by the CUDA backend; `internals_of` finds it behind a `backend&`.
class backend_internals {
 public:
  virtual cuda_context& context() = 0;
  virtual stream_allocator& allocator() = 0;

 protected:
  ~backend_internals() = default;
};

/// The internals of `be`, or nullptr when it is not a CUDA backend.
backend_internals* internals_of(backend& be);

}  // namespace crowdiff::kernels::cuda
