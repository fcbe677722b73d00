// Our ops allocate nothing on the heap once warm: activations and scratch come from the arena, and a valid
// call builds no strings. (oneDNN's own execute makes a few small allocations per primitive call for its
// argument map; that is outside this library, so linear, matmul and conv2d are not counted here.)

#include <atomic>
#include <cstdlib>
#include <new>

#include <boost/test/unit_test.hpp>

#include "kernels/status_macros.hpp"
#include "test_util.hpp"

namespace {
std::atomic<long> heap_allocations{0};
}  // namespace

// Counting replacements of the global allocation functions (for the whole test program; they only count).
// The array and nothrow-delete forms forward to these by default.
void* operator new(size_t bytes) {
  heap_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes))
    return p;
  throw std::bad_alloc();
}
void* operator new(size_t bytes, const std::nothrow_t&) noexcept {
  heap_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(bytes == 0 ? 1 : bytes);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace crowdiff::kernels::test {
namespace {

status own_ops(backend& be, const tensor& image, const tensor& tokens, const tensor& ids,
               const tensor& table) {
  CROWDIFF_ASSIGN_OR_RETURN(tensor h, be.group_norm(image, 8, {}, {}, 1e-5f, true));  // [2, 32, 8, 8]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.upsample_nearest(h));                               // [2, 32, 16, 16]
  CROWDIFF_ASSIGN_OR_RETURN(tensor p, be.permute(image, {0, 2, 3, 1}));               // [2, 8, 8, 32]
  CROWDIFF_ASSIGN_OR_RETURN(tensor c, be.concat({image, image}, 1));                  // [2, 64, 8, 8]
  CROWDIFF_ASSIGN_OR_RETURN(c, be.slice(c, 1, 16, 32));                               // [2, 32, 8, 8]
  CROWDIFF_ASSIGN_OR_RETURN(c, be.add(c, image, c));
  CROWDIFF_ASSIGN_OR_RETURN(tensor n, be.layer_norm(tokens, {}, {}, 1e-5f));  // [2, 77, 64]
  CROWDIFF_ASSIGN_OR_RETURN(tensor a, be.attention(n, n, n, 2, {0.0f, true}));
  CROWDIFF_ASSIGN_OR_RETURN(a, be.softmax(a, a));
  CROWDIFF_ASSIGN_OR_RETURN(tensor g, be.geglu(a));  // [2, 77, 32]
  CROWDIFF_ASSIGN_OR_RETURN(g, be.gelu(g, g));
  CROWDIFF_ASSIGN_OR_RETURN(g, be.scale(g, 0.5f, 1.0f, g));
  CROWDIFF_ASSIGN_OR_RETURN(tensor e, be.embedding(ids, table));  // [2, 77, 64]
  CROWDIFF_ASSIGN_OR_RETURN(tensor half, be.convert(e, dtype::bf16));
  return status::ok();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(allocation)

BOOST_AUTO_TEST_CASE(own_ops_allocate_nothing_when_warm) {
  const tensor image = random_tensor({2, 32, 8, 8}, 1), tokens = random_tensor({2, 77, 64}, 2);
  const tensor table = random_tensor({100, 64}, 3, -1.0f, 1.0f, dtype::f16);
  tensor ids = unwrap(tensor::host({2, 77}, dtype::i32), "ids");
  for (int i = 0; i < 154; ++i)
    ids.mutable_data_as<int32_t>()[i] = i % 100;
  for (const backend_case& c : optimized_backends()) {
    BOOST_TEST_REQUIRE(own_ops(*c.be, image, tokens, ids, table).is_ok());
    const long before = heap_allocations.load();
    for (int step = 0; step < 3; ++step)
      BOOST_TEST_REQUIRE(own_ops(*c.be, image, tokens, ids, table).is_ok());
    BOOST_TEST(heap_allocations.load() - before == 0, c.label << ": heap allocations in three warm steps");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
