#include "kernels/tensor.hpp"

#include <cassert>
#include <cstring>

namespace crowdiff::kernels {

tensor tensor::borrow(const void* data, kernels::shape s, kernels::dtype t, kernels::device where) {
  assert(data != nullptr || s.numel() == 0);
  tensor out;
  // Constness is tracked by `writable_`; the pointer is only handed out as non-const by mutable_data().
  out.data_ = const_cast<void*>(data);
  out.shape_ = s;
  out.dtype_ = t;
  out.device_ = where;
  out.defined_ = true;
  return out;
}

tensor tensor::borrow_mutable(void* data, kernels::shape s, kernels::dtype t, kernels::device where) {
  tensor out = borrow(data, s, t, where);
  out.writable_ = true;
  return out;
}

result<tensor> tensor::host(kernels::shape s, kernels::dtype t) {
  const size_t bytes = static_cast<size_t>(s.numel()) * dtype_size(t);
  storage_ref block = heap_storage::allocate(bytes);
  if (!block)
    return status{errc::resource_exhausted, "host tensor of " + std::to_string(bytes) + " bytes"};
  std::memset(block->data(), 0, bytes);
  return over(std::move(block), 0, s, t);
}

tensor tensor::over(storage_ref s, size_t offset, kernels::shape sh, kernels::dtype t, bool packed) {
  assert(s);
  assert(packed || offset + static_cast<size_t>(sh.numel()) * dtype_size(t) <= s->bytes());
  tensor out;
  out.data_ = static_cast<char*>(s->data()) + offset;
  out.device_ = s->device();
  out.storage_ = std::move(s);
  out.shape_ = sh;
  out.dtype_ = t;
  out.writable_ = !packed;
  out.packed_ = packed;
  out.defined_ = true;
  return out;
}

void* tensor::mutable_data() const {
  assert(writable_);
  return data_;
}

result<tensor> tensor::reshape(std::span<const int64_t> extents) const {
  if (!defined_ || packed_)
    return status{errc::invalid_argument, "reshape of an undefined or packed tensor"};
  if (extents.size() > static_cast<size_t>(kernels::shape::max_rank))
    return status{errc::invalid_argument, "reshape to more than 6 dimensions"};
  std::array<int64_t, kernels::shape::max_rank> resolved{};
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < extents.size(); ++i) {
    resolved[i] = extents[i];
    if (extents[i] == -1 && inferred < 0) {
      inferred = static_cast<int>(i);
    } else if (extents[i] < 0) {
      return status{errc::invalid_argument, "reshape: bad extent " + std::to_string(extents[i])};
    } else {
      known *= extents[i];
    }
  }
  if (inferred >= 0) {
    if (known == 0 || numel() % known != 0)
      return status{errc::invalid_argument, "reshape: cannot infer an extent of " + to_string()};
    resolved[static_cast<size_t>(inferred)] = numel() / known;
    known = numel();
  }
  if (known != numel())
    return status{errc::invalid_argument,
                  "reshape of " + to_string() + " to " + std::to_string(known) + " elements"};
  tensor out = *this;
  out.shape_ = kernels::shape(std::span<const int64_t>(resolved.data(), extents.size()));
  return out;
}

result<tensor> tensor::narrow(int64_t start, int64_t length) const {
  if (!defined_ || packed_ || rank() == 0)
    return status{errc::invalid_argument, "narrow of an undefined, packed or scalar tensor"};
  if (start < 0 || length < 0 || start + length > shape_[0])
    return status{errc::invalid_argument, "narrow [" + std::to_string(start) + ", +" +
                                              std::to_string(length) + ") of " + to_string()};
  tensor out = *this;
  const size_t row_bytes = static_cast<size_t>(shape_.numel(1, rank())) * dtype_size(dtype_);
  out.data_ = static_cast<char*>(data_) + static_cast<size_t>(start) * row_bytes;
  out.shape_.set(0, length);
  return out;
}

std::string tensor::to_string() const {
  if (!defined_)
    return "undefined";
  return std::string(kernels::to_string(dtype_)) + shape_.to_string() + (packed_ ? "(packed)" : "") + "@" +
         kernels::to_string(device_);
}

}  // namespace crowdiff::kernels
