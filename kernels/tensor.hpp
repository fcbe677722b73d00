#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "common/status.hpp"
#include "kernels/device.hpp"
#include "kernels/dtype.hpp"
#include "kernels/shape.hpp"
#include "kernels/storage.hpp"

namespace crowdiff::kernels {

/// A handle to an n-dimensional array: shape, element type, device and a pointer into storage that is either
/// shared (reference counted: heap, arena, backend-packed) or borrowed (owned by someone else, e.g. a
/// memory-mapped weight file). Copying a tensor copies the handle, never the elements, like torch.Tensor.
///
/// Elements are dense and row-major in `shape` order, except for packed tensors: weights a backend
/// rearranged into its own opaque layout (`prepare_weight`), usable only as that backend's weights.
/// A default-constructed tensor is undefined (`defined() == false`); ops take it for "no bias" and the like.
class tensor {
 public:
  tensor() = default;

  /// Wraps read-only memory owned elsewhere: nothing is copied and nothing freed. The memory must stay valid
  /// and unchanged while any copy of the tensor lives. Asserts `data != nullptr` unless the shape is empty.
  static tensor borrow(const void* data, kernels::shape s, kernels::dtype t,
                       kernels::device where = kernels::device::cpu());
  /// Like `borrow`, for memory that ops may write (a caller's output buffer).
  static tensor borrow_mutable(void* data, kernels::shape s, kernels::dtype t,
                               kernels::device where = kernels::device::cpu());
  /// A tensor over a new heap block on the host, zero-filled. resource_exhausted when memory runs out.
  static result<tensor> host(kernels::shape s, kernels::dtype t);
  /// A tensor over the bytes of `s` from `offset` on: dense (asserted to fit), or `packed` in a backend's
  /// layout (then read-only). For arenas and backends.
  static tensor over(storage_ref s, size_t offset, kernels::shape sh, kernels::dtype t, bool packed = false);

  bool defined() const { return defined_; }

  const kernels::shape& shape() const { return shape_; }
  kernels::dtype dtype() const { return dtype_; }
  kernels::device device() const { return device_; }
  int rank() const { return shape_.rank(); }
  /// Extent of dimension `i` (negative counts from the back).
  int64_t size(int i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  /// Bytes of the logical elements (a packed tensor's storage may hold more).
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  /// Whether the elements are in a backend's private layout (see `prepare_weight`).
  bool packed() const { return packed_; }
  /// Whether ops may write the elements (false for `borrow`).
  bool writable() const { return writable_; }
  /// The storage behind a shared tensor, nullptr for a borrowed one.
  kernels::storage* storage() const { return storage_.get(); }

  const void* data() const { return data_; }
  /// Asserts `writable()`.
  void* mutable_data() const;
  template <class T>
  const T* data_as() const {
    return static_cast<const T*>(data_);
  }
  template <class T>
  T* mutable_data_as() const {
    return static_cast<T*>(mutable_data());
  }

  /// The same elements under another shape with the same element count; one extent may be -1 (inferred).
  /// Free. invalid_argument when the counts differ, the extents are bad, or the tensor is packed.
  result<tensor> reshape(std::span<const int64_t> extents) const;
  result<tensor> reshape(std::initializer_list<int64_t> extents) const {
    return reshape(std::span<const int64_t>(extents.begin(), extents.size()));
  }
  /// Rows [start, start + length) of dimension 0, sharing the elements. Free. invalid_argument when out of
  /// range, for a scalar, or for a packed tensor.
  result<tensor> narrow(int64_t start, int64_t length) const;

  /// "f32[2, 4, 64, 64]@cpu".
  std::string to_string() const;

 private:
  storage_ref storage_;
  void* data_ = nullptr;
  kernels::shape shape_;
  kernels::dtype dtype_ = kernels::dtype::f32;
  kernels::device device_;
  bool writable_ = false;
  bool packed_ = false;
  bool defined_ = false;
};

}  // namespace crowdiff::kernels
