#include "kernels/arena.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdlib>
#include <new>

namespace crowdiff::kernels {

namespace {

constexpr size_t min_class_bytes = 256;
constexpr int min_class_log2 = 8;

// Size classes: 256, then 2^e * {1.25, 1.5, 1.75, 2} for each e >= 8.
size_t class_capacity(int index) {
  const int e = min_class_log2 + index / 4;
  const size_t j = static_cast<size_t>(index % 4);
  return (size_t{1} << e) / 4 * (4 + j);
}

int class_of(size_t bytes) {
  if (bytes <= min_class_bytes)
    return 0;
  const int e = static_cast<int>(std::bit_width(bytes - 1)) - 1;  // 2^e < bytes <= 2^(e+1)
  const size_t step = size_t{1} << (e - 2);
  const size_t j = (bytes - (size_t{1} << e) + step - 1) / step;  // 1..4
  return (e - min_class_log2) * 4 + static_cast<int>(j);
}

}  // namespace

class arena::block final : public storage {
 public:
  block(arena* owner, void* data, size_t capacity, int size_class)
      : storage(data, capacity, owner->device()), owner_(owner), size_class_(size_class) {}

  int size_class() const { return size_class_; }
  block* next = nullptr;  // free-list link, meaningful only while free

 private:
  void on_unreferenced() override { owner_->recycle(this); }

  arena* owner_;
  int size_class_;
};

void* host_allocator::allocate(size_t bytes) {
  constexpr size_t alignment = 64;
  const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  return std::aligned_alloc(alignment, rounded);
}

void host_allocator::deallocate(void* p, size_t) {
  std::free(p);
}

arena::arena(device_allocator& upstream) : upstream_(upstream) {}

arena::~arena() {
  std::lock_guard lock(mutex_);
  assert(stats_.in_use_bytes == 0 && "a tensor outlived the arena (backend) that made it");
  trim_locked();
}

result<storage_ref> arena::allocate(size_t bytes) {
  if (bytes > (size_t{1} << 46))
    return status{errc::resource_exhausted, "arena allocation of " + std::to_string(bytes) + " bytes"};
  const int size_class = class_of(bytes);
  assert(size_class < num_classes);
  std::lock_guard lock(mutex_);
  block* b = free_[static_cast<size_t>(size_class)];
  if (b != nullptr) {
    free_[static_cast<size_t>(size_class)] = b->next;
    ++stats_.reuses;
  } else {
    const size_t capacity = class_capacity(size_class);
    void* data = upstream_.allocate(capacity);
    if (data == nullptr) {
      trim_locked();
      data = upstream_.allocate(capacity);
    }
    if (data == nullptr)
      return status{errc::resource_exhausted, "out of " + to_string(upstream_.device()) + " memory for " +
                                                  std::to_string(capacity) + " bytes"};
    auto* fresh = new (std::nothrow) block(this, data, capacity, size_class);
    if (fresh == nullptr) {
      upstream_.deallocate(data, capacity);
      return status{errc::resource_exhausted, "arena block header"};
    }
    b = fresh;
    ++stats_.upstream_allocations;
    stats_.reserved_bytes += capacity;
  }
  stats_.in_use_bytes += b->bytes();
  stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
  return storage_ref(b);
}

result<tensor> arena::allocate_tensor(const shape& s, dtype t) {
  auto bytes = allocate(static_cast<size_t>(s.numel()) * dtype_size(t));
  if (!bytes)
    return bytes.error();
  return tensor::over(std::move(*bytes), 0, s, t);
}

void arena::recycle(block* b) {
  std::lock_guard lock(mutex_);
  stats_.in_use_bytes -= b->bytes();
  b->next = free_[static_cast<size_t>(b->size_class())];
  free_[static_cast<size_t>(b->size_class())] = b;
}

arena_stats arena::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void arena::trim() {
  std::lock_guard lock(mutex_);
  trim_locked();
}

void arena::trim_locked() {
  for (block*& head : free_) {
    while (head != nullptr) {
      block* b = head;
      head = b->next;
      stats_.reserved_bytes -= b->bytes();
      upstream_.deallocate(b->data(), b->bytes());
      delete b;
    }
  }
}

}  // namespace crowdiff::kernels
