#include "kernels/storage.hpp"

#include <cstdlib>
#include <new>

namespace crowdiff::kernels {

namespace {
constexpr size_t alignment = 64;  // a cache line and one AVX-512 register
}

storage_ref heap_storage::allocate(size_t bytes) {
  const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void* data = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
  if (data == nullptr)
    return {};
  auto* s = new (std::nothrow) heap_storage(data, bytes);
  if (s == nullptr) {
    std::free(data);
    return {};
  }
  return storage_ref(s);
}

heap_storage::~heap_storage() {
  std::free(data());
}

}  // namespace crowdiff::kernels
