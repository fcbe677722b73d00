#pragma once

#include <memory>

#include "kernels/backend.hpp"

namespace crowdiff::kernels {

/// The plain-loop implementation of every op: f32 activations, weights in any float dtype, reductions in
/// double, one thread, obviously correct and slow. Tests hold the optimized backends to it; it is also a
/// debugging backend for models. Its attention materializes the score rows.
std::unique_ptr<backend> make_reference_backend();

}  // namespace crowdiff::kernels
