#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/dtype.hpp"

namespace crowdiff::models {

/// A tensor borrowed from a memory-mapped weight file: valid while the file (or the `model_weights` that
/// owns it) lives. Row-major, little-endian, as the file stores it. `data` is only as aligned as the file
/// lays it out (writers pad the header to 8 bytes, so real files are element-aligned, but nothing checks):
/// read through memcpy or an unaligned load, never by casting to float*.
struct tensor_view {
  std::string name;  ///< The name it was looked up by (canonical, or the file's own).
  kernels::dtype type = kernels::dtype::f32;
  std::vector<int64_t> shape;  ///< Empty for a scalar.
  const void* data = nullptr;
  size_t bytes = 0;

  /// Product of the dimensions (1 for a scalar).
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// A tensor a model reads, by canonical name, and the shape it must have: what a block's `load` asks the
/// weights for (see unet_tensor_specs).
struct tensor_spec {
  std::string name;
  std::vector<int64_t> shape;
};

/// "[320, 4, 3, 3]": for error messages.
std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace crowdiff::models
