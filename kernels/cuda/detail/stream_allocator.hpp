#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <cuda_runtime_api.h>

#include "common/status.hpp"
#include "kernels/arena.hpp"

namespace crowdiff::kernels::cuda {

/// The memory a CUDA graph's replays use: device blocks of the arena, and page-locked host copies of what
/// the captured step uploaded.
struct graph_memory {
  std::vector<void*> device;
  std::vector<void*> host;
};

/// The CUDA backend's upstream allocator and the owner of its stream: blocks come from one stream-ordered
/// memory pool of the device (cudaMallocFromPoolAsync / cudaFreeAsync on the stream), which keeps freed
/// memory for reuse instead of returning it to the driver. The arena above it recycles blocks itself, so
/// after the first step the pool is rarely asked; both are ordered by the one stream, so a block freed while
/// a kernel still reads it is reused only by work enqueued after that kernel.
///
/// Graph memory: between `start_recording` and `stop_recording` (a CUDA graph capture), blocks are made with
/// cudaMalloc, valid whatever the capture state, and pinned: when the arena gives one back it is kept,
/// neither freed nor handed out again, until `release_pinned`, because the graph's replays write into it.
/// Host bytes uploaded during the capture are kept the same way, in page-locked copies (`keep_host_copy`).
///
/// Owns the stream so that the arena (destroyed after the backend's own members) can still free into it.
class stream_allocator final : public device_allocator {
 public:
  /// The stream and pool on device `ordinal`. unavailable without a usable device.
  static result<std::unique_ptr<stream_allocator>> create(int ordinal);
  ~stream_allocator() override;

  kernels::device device() const override { return device::cuda(ordinal_); }
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;

  cudaStream_t stream() const { return stream_; }
  int ordinal() const { return ordinal_; }

  void start_recording();
  /// While recording: a page-locked copy of `bytes` bytes at `src`, which a captured upload reads from at
  /// every replay (the caller's host memory may be gone by then); it lives until `release_pinned`. nullptr
  /// when not recording or out of page-locked memory.
  void* keep_host_copy(const void* src, size_t bytes);
  /// The device blocks and host copies made since `start_recording`, now pinned.
  graph_memory stop_recording();
  /// Frees pinned blocks: at once those the arena gave back, the others when it does; host copies at once.
  void release_pinned(const graph_memory& memory);

 private:
  enum class pin_state : uint8_t { live, held, free_on_return };

  stream_allocator(int ordinal, cudaStream_t stream, cudaMemPool_t pool)
      : ordinal_(ordinal), stream_(stream), pool_(pool) {}

  int ordinal_;
  cudaStream_t stream_;
  cudaMemPool_t pool_;
  std::mutex mutex_;
  bool recording_ = false;
  graph_memory recorded_;
  std::unordered_map<void*, pin_state> pinned_;
};

/// Device memory from cudaMalloc that is freed with its last reference: weights converted at load, which
/// live as long as the model, not in the activation arena.
class device_storage final : public storage {
 public:
  /// nullptr when the device is out of memory.
  static storage_ref allocate(size_t bytes, int ordinal);

 private:
  device_storage(void* data, size_t bytes, int ordinal) : storage(data, bytes, device::cuda(ordinal)) {}
  ~device_storage() override;
  void on_unreferenced() override { delete this; }
};

}  // namespace crowdiff::kernels::cuda
