#include "kernels/cuda/detail/stream_allocator.hpp"

#include <cstdint>
#include <cstring>

#include "kernels/cuda/detail/cuda_check.hpp"

namespace crowdiff::kernels::cuda {

result<std::unique_ptr<stream_allocator>> stream_allocator::create(int ordinal) {
  CROWDIFF_CUDA_CHECK(cudaSetDevice(ordinal));
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = ordinal;
  cudaMemPool_t pool = nullptr;
  CROWDIFF_CUDA_CHECK(cudaMemPoolCreate(&pool, &props));
  // Keep freed memory in the pool between synchronizations: the next step wants the same sizes.
  uint64_t threshold = UINT64_MAX;
  if (const cudaError_t e = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold);
      e != cudaSuccess) {
    cudaMemPoolDestroy(pool);
    return cuda_error(e, "cudaMemPoolSetAttribute", __FILE__, __LINE__);
  }
  cudaStream_t stream = nullptr;
  if (const cudaError_t e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking); e != cudaSuccess) {
    cudaMemPoolDestroy(pool);
    return cuda_error(e, "cudaStreamCreateWithFlags", __FILE__, __LINE__);
  }
  return std::unique_ptr<stream_allocator>(new stream_allocator(ordinal, stream, pool));
}

stream_allocator::~stream_allocator() {
  cudaSetDevice(ordinal_);
  cudaStreamSynchronize(stream_);
  for (const auto& [p, state] : pinned_) {
    if (state == pin_state::held || state == pin_state::free_on_return)
      cudaFree(p);
  }
  cudaStreamDestroy(stream_);
  cudaMemPoolDestroy(pool_);
}

void* stream_allocator::allocate(size_t bytes) {
  std::lock_guard lock(mutex_);
  cudaSetDevice(ordinal_);
  void* p = nullptr;
  if (recording_) {
    if (cudaMalloc(&p, bytes) != cudaSuccess)
      return nullptr;
    recorded_.device.push_back(p);
    pinned_.emplace(p, pin_state::live);
    return p;
  }
  if (cudaMallocFromPoolAsync(&p, bytes, pool_, stream_) != cudaSuccess) {
    cudaGetLastError();  // not sticky, but leave nothing behind for the next check
    return nullptr;
  }
  return p;
}

void stream_allocator::deallocate(void* p, size_t) {
  std::lock_guard lock(mutex_);
  cudaSetDevice(ordinal_);
  if (const auto it = pinned_.find(p); it != pinned_.end()) {
    if (it->second == pin_state::free_on_return) {
      cudaStreamSynchronize(stream_);
      cudaFree(p);
      pinned_.erase(it);
    } else {
      it->second = pin_state::held;  // a graph still writes here
    }
    return;
  }
  cudaFreeAsync(p, stream_);
}

void stream_allocator::start_recording() {
  std::lock_guard lock(mutex_);
  recording_ = true;
  recorded_ = {};
}

void* stream_allocator::keep_host_copy(const void* src, size_t bytes) {
  std::lock_guard lock(mutex_);
  if (!recording_)
    return nullptr;
  void* p = nullptr;
  // cudaMallocHost is allowed while the stream captures in relaxed mode (cuda_graph::capture's).
  if (cudaMallocHost(&p, bytes == 0 ? 1 : bytes) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  std::memcpy(p, src, bytes);
  recorded_.host.push_back(p);
  return p;
}

graph_memory stream_allocator::stop_recording() {
  std::lock_guard lock(mutex_);
  recording_ = false;
  return std::move(recorded_);
}

void stream_allocator::release_pinned(const graph_memory& memory) {
  std::lock_guard lock(mutex_);
  cudaSetDevice(ordinal_);
  cudaStreamSynchronize(stream_);
  for (void* p : memory.host)
    cudaFreeHost(p);
  for (void* p : memory.device) {
    const auto it = pinned_.find(p);
    if (it == pinned_.end())
      continue;
    if (it->second == pin_state::held) {
      cudaFree(p);
      pinned_.erase(it);
    } else {
      it->second = pin_state::free_on_return;
    }
  }
}

storage_ref device_storage::allocate(size_t bytes, int ordinal) {
  if (cudaSetDevice(ordinal) != cudaSuccess)
    return {};
  void* p = nullptr;
  if (cudaMalloc(&p, bytes == 0 ? 1 : bytes) != cudaSuccess) {
    cudaGetLastError();
    return {};
  }
  return storage_ref(new device_storage(p, bytes, ordinal));
}

device_storage::~device_storage() {
  cudaSetDevice(device().index);
  cudaFree(data());
}

}  // namespace crowdiff::kernels::cuda
