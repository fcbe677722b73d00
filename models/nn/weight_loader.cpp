#include "models/nn/weight_loader.hpp"

#include <cstring>

namespace crowdiff::models {

result<tensor_view> weight_loader::find_float(std::string_view name, const std::vector<int64_t>& expected) {
  auto found = weights_.get(name, expected);
  if (!found)
    return found.error();
  if (!kernels::is_float(found->type))
    return status{errc::corruption, weights_.root().string() + ": tensor " + std::string(name) +
                                        " has dtype " + std::string(kernels::to_string(found->type)) +
                                        ", not a float type"};
  return found;
}

result<kernels::tensor> weight_loader::load(std::string_view name, const std::vector<int64_t>& expected,
                                            kernels::weight_use use) {
  return load_as(name, expected, expected, use);
}

result<kernels::tensor> weight_loader::load_as(std::string_view name, const std::vector<int64_t>& expected,
                                               const std::vector<int64_t>& view, kernels::weight_use use) {
  auto found = find_float(name, expected);
  if (!found)
    return found.error();
  if (!kernels::shape::valid(view))
    return status{errc::invalid_argument, "weight_loader: bad view of " + std::string(name)};
  const kernels::shape extents(view);
  if (extents.numel() != found->numel())
    return status{errc::internal, "weight_loader: view " + extents.to_string() + " of " + std::string(name) +
                                      " changes its element count"};
  kernels::tensor source = kernels::tensor::borrow(found->data, extents, found->type);
  // The map is only as aligned as the file lays it out; vector kernels may assume element alignment.
  if (reinterpret_cast<uintptr_t>(found->data) % kernels::dtype_size(found->type) != 0) {
    auto copy = kernels::tensor::host(extents, found->type);
    if (!copy)
      return copy.error();
    std::memcpy(copy->mutable_data(), found->data, found->bytes);
    source = std::move(*copy);
  }
  auto prepared = backend_.prepare_weight(source, use);
  if (!prepared)
    return status(prepared.error()).with_context(std::string(name));
  // A converted weight no longer needs the checkpoint's bytes: let their pages go now rather than after the
  // whole model, so that loading never holds the checkpoint and its conversion at once.
  if (prepared->data() != found->data)
    weights_.release_pages(*found);
  bytes_ += prepared->packed() && prepared->storage() != nullptr ? prepared->storage()->bytes()
                                                                 : prepared->nbytes();
  return prepared;
}

result<kernels::tensor> weight_loader::load_activation(std::string_view name,
                                                       const std::vector<int64_t>& expected) {
  auto found = find_float(name, expected);
  if (!found)
    return found.error();
  auto copy = kernels::tensor::host(kernels::shape(expected), found->type);
  if (!copy)
    return copy.error();
  std::memcpy(copy->mutable_data(), found->data, found->bytes);
  weights_.release_pages(*found);
  auto uploaded = backend_.upload(*copy);
  if (!uploaded)
    return status(uploaded.error()).with_context(std::string(name));
  bytes_ += uploaded->nbytes();
  return uploaded;
}

}  // namespace crowdiff::models
