#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

#include "kernels/device.hpp"

namespace crowdiff::kernels {

/// A block of bytes that tensors share, with an intrusive reference count so that a tensor copy costs no
/// allocation. Subclasses decide what happens to the bytes when the last reference goes: an arena block
/// returns to its free list, a heap block is freed, a backend's packed weight keeps its private metadata.
class storage {
 public:
  storage(void* data, size_t bytes, device where) : data_(data), bytes_(bytes), device_(where) {}
  storage(const storage&) = delete;
  storage& operator=(const storage&) = delete;
  virtual ~storage() = default;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  kernels::device device() const { return device_; }

  void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
  /// Drops one reference; the last one calls `on_unreferenced()`.
  void release() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      on_unreferenced();
  }

 protected:
  /// Called once the count reaches zero. May `delete this`, or recycle the object: its count is zero again,
  /// ready for the next `storage_ref`.
  virtual void on_unreferenced() = 0;
  void set_data(void* data, size_t bytes) {
    data_ = data;
    bytes_ = bytes;
  }

 private:
  std::atomic<int> refs_{0};
  void* data_;
  size_t bytes_;
  kernels::device device_;
};

/// An owning handle to a `storage` (like a shared_ptr without the separate control block).
class storage_ref {
 public:
  storage_ref() = default;
  /// Adopts `s` (retains it).
  explicit storage_ref(storage* s) : ptr_(s) {
    if (ptr_)
      ptr_->retain();
  }
  storage_ref(const storage_ref& other) : storage_ref(other.ptr_) {}
  storage_ref(storage_ref&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
  storage_ref& operator=(storage_ref other) noexcept {
    std::swap(ptr_, other.ptr_);
    return *this;
  }
  ~storage_ref() {
    if (ptr_)
      ptr_->release();
  }

  storage* get() const { return ptr_; }
  storage* operator->() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  storage* ptr_ = nullptr;
};

/// Host memory from the heap, 64-byte aligned, freed with the last reference. For host-side tensors, weights
/// a backend converts at load, and tests.
class heap_storage final : public storage {
 public:
  /// nullptr when the allocation fails.
  static storage_ref allocate(size_t bytes);

 private:
  heap_storage(void* data, size_t bytes) : storage(data, bytes, device::cpu()) {}
  ~heap_storage() override;
  void on_unreferenced() override { delete this; }
};

}  // namespace crowdiff::kernels
