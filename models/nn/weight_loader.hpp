#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/weights/model_weights.hpp"

namespace crowdiff::models {

/// Moves a model's weights onto a backend, one canonical tensor at a time, each prepared once for the op that
/// will read it (converted to the compute dtype, packed where the backend gains from it). Blocks call it
/// while they are built; nothing is looked up by name afterwards.
///
/// The checkpoint stays memory-mapped: a weight the backend can use as stored is borrowed from the map (so
/// the `model_weights` must outlive every tensor loaded through it), any other is converted into memory the
/// backend owns. Weights whose bytes are not aligned to their element size are copied first, since ops may
/// read them with aligned vector loads.
class weight_loader {
 public:
  weight_loader(const model_weights& weights, kernels::backend& backend)
      : weights_(weights), backend_(backend) {}

  /// The tensor `name`, which must have shape `expected`, prepared for `use`. Errors: not_found naming the
  /// tensor, corruption naming it and both shapes, and the backend's errors.
  result<kernels::tensor> load(std::string_view name, const std::vector<int64_t>& expected,
                               kernels::weight_use use);
  /// As `load`, then viewed with the extents `view` (same element count): a 1x1 convolution filter
  /// [O, C, 1, 1] read as the [O, C] matrix of a linear.
  result<kernels::tensor> load_as(std::string_view name, const std::vector<int64_t>& expected,
                                  const std::vector<int64_t>& view, kernels::weight_use use);
  /// The tensor `name` (shape `expected`) copied into an activation of the backend (its activation dtype),
  /// for weights that ops read as data rather than as parameters: CLIP's position embeddings, added to the
  /// token embeddings.
  result<kernels::tensor> load_activation(std::string_view name, const std::vector<int64_t>& expected);
  /// Whether the checkpoint has `name` (optional tensors such as a resnet's shortcut).
  bool contains(std::string_view name) const { return weights_.contains(name); }

  kernels::backend& backend() { return backend_; }
  const model_weights& weights() const { return weights_; }
  /// Bytes of every tensor loaded so far, as prepared (what keeping the model costs).
  size_t bytes() const { return bytes_; }

 private:
  /// The tensor `name` of shape `expected`, which must hold floats (corruption otherwise, naming it).
  result<tensor_view> find_float(std::string_view name, const std::vector<int64_t>& expected);

  const model_weights& weights_;
  kernels::backend& backend_;
  size_t bytes_ = 0;
};

}  // namespace crowdiff::models
