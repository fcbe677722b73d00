#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "common/status.hpp"
#include "kernels/device.hpp"
#include "kernels/storage.hpp"
#include "kernels/tensor.hpp"

namespace crowdiff::kernels {

/// Where an arena gets its memory: the heap on the host, cudaMalloc on a GPU.
class device_allocator {
 public:
  virtual ~device_allocator() = default;
  virtual kernels::device device() const = 0;
  /// `bytes` bytes aligned to at least 64, or nullptr when the device is out of memory.
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) = 0;
};

/// Host memory from the C heap, 64-byte aligned.
class host_allocator final : public device_allocator {
 public:
  kernels::device device() const override { return device::cpu(); }
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
};

/// Counters of an arena, for tests and logs.
struct arena_stats {
  size_t reserved_bytes = 0;          ///< Bytes held from the upstream allocator, in use or free.
  size_t in_use_bytes = 0;            ///< Capacity of blocks that tensors hold now.
  size_t peak_in_use_bytes = 0;       ///< Highest `in_use_bytes` since construction.
  uint64_t upstream_allocations = 0;  ///< Calls to the upstream allocator since construction.
  uint64_t reuses = 0;                ///< Allocations served from a free list.
};

/// Activation memory that is reused instead of reallocated: blocks come in size classes (four per power of
/// two, so at most 25% slack) and go back to their class's free list when the last tensor referring to them
/// is gone. A diffusion step allocates the same sizes as the step before, so after the first step every
/// allocation is a free-list pop: no heap or device allocation per step.
///
/// Thread-safe. Every block must be returned before the arena is destroyed (tensors must not outlive the
/// backend that made them); that is asserted.
class arena {
 public:
  explicit arena(device_allocator& upstream);
  arena(const arena&) = delete;
  arena& operator=(const arena&) = delete;
  ~arena();

  /// A block of at least `bytes` bytes, aligned to 64. resource_exhausted when the upstream allocator fails
  /// (after returning the free blocks to it and retrying once).
  result<storage_ref> allocate(size_t bytes);
  /// An uninitialized tensor on a new block.
  result<tensor> allocate_tensor(const shape& s, dtype t);

  arena_stats stats() const;
  /// Returns every free block to the upstream allocator.
  void trim();

  kernels::device device() const { return upstream_.device(); }

 private:
  class block;
  static constexpr int num_classes = 160;

  void recycle(block* b);
  void trim_locked();

  device_allocator& upstream_;
  mutable std::mutex mutex_;
  std::array<block*, num_classes> free_{};
  arena_stats stats_;
};

}  // namespace crowdiff::kernels
