// The activation arena: reuse through size classes, statistics, and no allocation in a repeated step.

#include "kernels/arena.hpp"

#include <boost/test/unit_test.hpp>

#include "kernels/status_macros.hpp"
#include "test_util.hpp"

namespace crowdiff::kernels::test {
namespace {

// Counts what reaches the heap.
class counting_allocator final : public device_allocator {
 public:
  kernels::device device() const override { return device::cpu(); }
  void* allocate(size_t bytes) override {
    ++allocations;
    return fail ? nullptr : heap.allocate(bytes);
  }
  void deallocate(void* p, size_t bytes) override {
    ++deallocations;
    heap.deallocate(p, bytes);
  }
  host_allocator heap;
  int allocations = 0, deallocations = 0;
  bool fail = false;
};

// A slice of a UNet step: ResNet block with time embedding, then a transformer block's attention and
// feed-forward, on a small latent.
status unet_slice(backend& be, const tensor& x, const tensor& conv_w, const tensor& temb, const tensor& proj,
                  const tensor& ff, const tensor& ff_out) {
  CROWDIFF_ASSIGN_OR_RETURN(tensor h, be.group_norm(x, 8, {}, {}, 1e-5f, true));            // [1, 32, 8, 8]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.conv2d(h, conv_w, {}, conv2d_options::symmetric(1, 1)));  // [1, 32, 8, 8]
  CROWDIFF_ASSIGN_OR_RETURN(tensor t, temb.reshape({1, 32, 1, 1}));
  CROWDIFF_ASSIGN_OR_RETURN(h, be.add(h, t, h));                          // [1, 32, 8, 8]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.add(h, x));                             // [1, 32, 8, 8]
  CROWDIFF_ASSIGN_OR_RETURN(tensor tokens, be.permute(h, {0, 2, 3, 1}));  // [1, 8, 8, 32]
  CROWDIFF_ASSIGN_OR_RETURN(tokens, tokens.reshape({1, 64, 32}));         // [1, 64, 32]
  CROWDIFF_ASSIGN_OR_RETURN(tensor n, be.layer_norm(tokens, {}, {}, 1e-5f));
  CROWDIFF_ASSIGN_OR_RETURN(tensor q, be.linear(n, proj));  // [1, 64, 32]
  CROWDIFF_ASSIGN_OR_RETURN(tensor a, be.attention(q, q, q, 2));
  CROWDIFF_ASSIGN_OR_RETURN(tensor g, be.linear(a, ff));         // [1, 64, 256]
  CROWDIFF_ASSIGN_OR_RETURN(g, be.geglu(g));                     // [1, 64, 128]
  CROWDIFF_ASSIGN_OR_RETURN(tensor y, be.linear(g, ff_out));     // [1, 64, 32]
  CROWDIFF_ASSIGN_OR_RETURN(tensor cat, be.concat({y, a}, -1));  // [1, 64, 64]
  CROWDIFF_ASSIGN_OR_RETURN(tensor up, be.upsample_nearest(h));  // [1, 32, 16, 16]
  return cat.numel() == 64 * 64 && up.numel() == 32 * 256 ? status::ok() : status{errc::internal, "shape"};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(arena_basics)

BOOST_AUTO_TEST_CASE(blocks_are_reused_by_size_class) {
  counting_allocator upstream;
  {
    arena a(upstream);
    const void* first = nullptr;
    {
      storage_ref block = unwrap(a.allocate(1000), "allocate");
      first = block->data();
      BOOST_TEST(block->bytes() >= 1000u);
      BOOST_TEST(a.stats().in_use_bytes == block->bytes());
    }
    BOOST_TEST(a.stats().in_use_bytes == 0u);
    // 1000 and 1020 share a class (1024): the block comes back.
    storage_ref again = unwrap(a.allocate(1020), "allocate");
    BOOST_TEST(again->data() == first);
    BOOST_TEST(upstream.allocations == 1);
    BOOST_TEST(a.stats().reuses == 1u);
    // A different class is a new block; both stay reserved.
    storage_ref other = unwrap(a.allocate(5000), "allocate");
    BOOST_TEST(upstream.allocations == 2);
    BOOST_TEST(reinterpret_cast<uintptr_t>(other->data()) % 64 == 0u);
    BOOST_TEST(a.stats().peak_in_use_bytes >= 1024u + 5000u);
  }
  BOOST_TEST(upstream.deallocations == upstream.allocations);
}

BOOST_AUTO_TEST_CASE(out_of_memory_is_an_error) {
  counting_allocator upstream;
  arena a(upstream);
  upstream.fail = true;
  const auto block = a.allocate(100);
  BOOST_TEST(block.error().code() == errc::resource_exhausted);
  BOOST_TEST(a.allocate(size_t{1} << 60).error().code() == errc::resource_exhausted);
}

BOOST_AUTO_TEST_CASE(trim_returns_free_blocks) {
  counting_allocator upstream;
  arena a(upstream);
  { storage_ref block = unwrap(a.allocate(1 << 20), "allocate"); }
  BOOST_TEST(a.stats().reserved_bytes > 0u);
  a.trim();
  BOOST_TEST(a.stats().reserved_bytes == 0u);
  BOOST_TEST(upstream.deallocations == 1);
}

BOOST_AUTO_TEST_CASE(a_repeated_step_allocates_nothing) {
  for (const backend_case& c : optimized_backends()) {
    backend& be = *c.be;
    const tensor x = random_tensor({1, 32, 8, 8}, 1);
    const tensor conv_w =
        unwrap(be.prepare_weight(random_tensor({32, 32, 3, 3}, 2), weight_use::conv2d), "w");
    const tensor temb = random_tensor({1, 32}, 3);
    const tensor proj = unwrap(be.prepare_weight(random_tensor({32, 32}, 4), weight_use::linear), "w");
    const tensor ff = unwrap(be.prepare_weight(random_tensor({256, 32}, 5), weight_use::linear), "w");
    const tensor ff_out = unwrap(be.prepare_weight(random_tensor({32, 128}, 6), weight_use::linear), "w");
    const status warm = unet_slice(be, x, conv_w, temb, proj, ff, ff_out);
    BOOST_TEST_REQUIRE(warm.is_ok(), warm.to_string());
    const arena_stats before = be.memory().stats();
    for (int step = 0; step < 3; ++step)
      BOOST_TEST(unet_slice(be, x, conv_w, temb, proj, ff, ff_out).is_ok());
    const arena_stats after = be.memory().stats();
    BOOST_TEST(after.upstream_allocations == before.upstream_allocations, c.label);
    BOOST_TEST(after.reuses > before.reuses);
    BOOST_TEST(after.in_use_bytes == 0u, c.label << ": every activation and scratch block went back");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::test
