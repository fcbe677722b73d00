#include "emulation/emulator.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <ucontext.h>
#include <vector>

#include "kernels/half.hpp"

namespace crowdiff::kernels::cuda::emu {

namespace {

constexpr size_t stack_bytes = size_t{128} << 10;

enum class thread_state { runnable, waiting, done };

struct thread {
  ucontext_t context{};
  std::unique_ptr<char[]> stack;
  thread_state state = thread_state::runnable;
};

// What the lanes of a warp put on the table at an exchange.
struct lane_slot {
  float value = 0;
  const void* address = nullptr;
  pair16 a[4]{};
  pair16 b[2]{};
  float d[4]{};
};

struct warp {
  int arrived = 0;
  int live = 0;
  lane_slot slots[32];
};

struct block_run {
  unsigned grid[3]{};
  unsigned index[3]{};
  unsigned threads = 0;
  std::vector<thread> pool;
  std::vector<warp> warps;
  std::vector<unsigned char> shared;
  int live = 0;
  int arrived = 0;
  unsigned current = 0;
  ucontext_t scheduler{};
  const std::function<void()>* kernel = nullptr;
};

block_run* run = nullptr;

void yield_waiting() {
  thread& t = run->pool[run->current];
  t.state = thread_state::waiting;
  swapcontext(&t.context, &run->scheduler);
}

void release_block() {
  run->arrived = 0;
  for (thread& t : run->pool) {
    if (t.state == thread_state::waiting)
      t.state = thread_state::runnable;
  }
}

void release_warp(unsigned w) {
  run->warps[w].arrived = 0;
  for (unsigned i = w * 32; i < w * 32 + 32 && i < run->threads; ++i) {
    if (run->pool[i].state == thread_state::waiting)
      run->pool[i].state = thread_state::runnable;
  }
}

// A warp-wide rendezvous: returns once every live lane of the current warp has arrived.
void warp_barrier() {
  warp& w = run->warps[run->current / 32];
  if (++w.arrived == w.live) {
    release_warp(run->current / 32);
    return;
  }
  yield_waiting();
}

lane_slot& my_slot() {
  return run->warps[run->current / 32].slots[run->current % 32];
}

lane_slot& lane_of_warp(unsigned lane) {
  return run->warps[run->current / 32].slots[lane];
}

void entry() {
  (*run->kernel)();
  thread& t = run->pool[run->current];
  t.state = thread_state::done;
  --run->live;
  warp& w = run->warps[run->current / 32];
  --w.live;
  if (w.arrived > 0 && w.arrived == w.live)
    release_warp(run->current / 32);
  if (run->arrived > 0 && run->arrived == run->live)
    release_block();
  swapcontext(&t.context, &run->scheduler);
}

float half_bits_to_f32(uint16_t bits, bool bf16) {
  return bf16 ? bf16_to_f32(bits) : f16_to_f32(bits);
}

uint16_t half_of(pair16 p, int which) {
  return static_cast<uint16_t>(which == 0 ? p & 0xffffu : p >> 16);
}

// One block to completion. Kept out of launch(): swapcontext returns twice, which would clobber the grid
// loop's variables.
[[gnu::noinline]] void run_block(block_run& r, unsigned x, unsigned y, unsigned z, size_t shared_bytes) {
  r.index[0] = x;
  r.index[1] = y;
  r.index[2] = z;
  r.shared.assign(shared_bytes, 0xff);  // NaN in every float format
  r.live = static_cast<int>(r.threads);
  r.arrived = 0;
  for (warp& w : r.warps) {
    w.arrived = 0;
    w.live = 32;
  }
  for (thread& t : r.pool) {
    getcontext(&t.context);
    t.context.uc_stack.ss_sp = t.stack.get();
    t.context.uc_stack.ss_size = stack_bytes;
    t.context.uc_link = &r.scheduler;
    makecontext(&t.context, entry, 0);
    t.state = thread_state::runnable;
  }
  while (r.live > 0) {
    bool progressed = false;
    for (unsigned i = 0; i < r.threads; ++i) {
      if (r.pool[i].state != thread_state::runnable)
        continue;
      r.current = i;
      progressed = true;
      swapcontext(&r.scheduler, &r.pool[i].context);
    }
    if (!progressed) {
      std::fprintf(stderr, "emulator: deadlock in block (%u, %u, %u): threads wait at different barriers\n",
                   x, y, z);
      std::abort();
    }
  }
}

}  // namespace

void launch(const launch_dims& dims, const std::function<void()>& kernel) {
  if (dims.threads == 0 || dims.threads > 1024 || dims.threads % 32 != 0) {
    std::fprintf(stderr, "emulator: %u threads per block\n", dims.threads);
    std::abort();
  }
  block_run r;
  r.grid[0] = dims.grid_x;
  r.grid[1] = dims.grid_y;
  r.grid[2] = dims.grid_z;
  r.threads = dims.threads;
  r.kernel = &kernel;
  r.pool.resize(dims.threads);
  for (thread& t : r.pool)
    t.stack = std::make_unique<char[]>(stack_bytes);
  r.warps.resize(dims.threads / 32);
  run = &r;
  for (unsigned z = 0; z < dims.grid_z; ++z) {
    for (unsigned y = 0; y < dims.grid_y; ++y) {
      for (unsigned x = 0; x < dims.grid_x; ++x)
        run_block(r, x, y, z, dims.shared_bytes);
    }
  }
  run = nullptr;
}

unsigned thread_x() {
  return run->current;
}
unsigned block_x() {
  return run->index[0];
}
unsigned block_y() {
  return run->index[1];
}
unsigned block_z() {
  return run->index[2];
}
unsigned block_dim_x() {
  return run->threads;
}
unsigned grid_dim_x() {
  return run->grid[0];
}
void* dynamic_shared() {
  return run->shared.data();
}

void sync_threads() {
  if (++run->arrived == run->live) {
    release_block();
    return;
  }
  yield_waiting();
}

float shfl_xor(float v, int mask) {
  my_slot().value = v;
  warp_barrier();
  const float out = lane_of_warp((run->current % 32) ^ static_cast<unsigned>(mask)).value;
  warp_barrier();
  return out;
}

void ldmatrix_x4(pair16 (&r)[4], const void* row, bool transpose) {
  my_slot().address = row;
  warp_barrier();
  const unsigned lane = run->current % 32;
  for (unsigned m = 0; m < 4; ++m) {
    uint16_t e[2];
    for (unsigned j = 0; j < 2; ++j) {
      // Element (row, col) of matrix m: rows come from lanes 8m..8m+7.
      const unsigned row_index = transpose ? 2 * (lane % 4) + j : lane / 4;
      const unsigned col_index = transpose ? lane / 4 : 2 * (lane % 4) + j;
      std::memcpy(&e[j], static_cast<const uint16_t*>(lane_of_warp(8 * m + row_index).address) + col_index,
                  2);
    }
    r[m] = static_cast<pair16>(e[0]) | (static_cast<pair16>(e[1]) << 16);
  }
  warp_barrier();
}

void mma_16816(float (&d)[4], const pair16 (&a)[4], pair16 b0, pair16 b1, bool bf16) {
  lane_slot& mine = my_slot();
  std::memcpy(mine.a, a, sizeof mine.a);
  mine.b[0] = b0;
  mine.b[1] = b1;
  std::memcpy(mine.d, d, sizeof mine.d);
  warp_barrier();
  // A (16 x 16): element (r, c) is in lane (r % 8) * 4 + (c % 8) / 2, register (r / 8) + 2 (c / 8), half c
  // % 2. B (16 x 8): element (k, n) is in lane n * 4 + (k % 8) / 2, register k / 8, half k % 2.
  const auto a_at = [&](unsigned r, unsigned c) {
    const lane_slot& s = lane_of_warp((r % 8) * 4 + (c % 8) / 2);
    return half_bits_to_f32(half_of(s.a[r / 8 + 2 * (c / 8)], static_cast<int>(c % 2)), bf16);
  };
  const auto b_at = [&](unsigned k, unsigned n) {
    const lane_slot& s = lane_of_warp(n * 4 + (k % 8) / 2);
    return half_bits_to_f32(half_of(s.b[k / 8], static_cast<int>(k % 2)), bf16);
  };
  const unsigned lane = run->current % 32, g = lane / 4, t = lane % 4;
  float out[4];
  for (unsigned i = 0; i < 4; ++i) {
    const unsigned row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i % 2);
    float acc = mine.d[i];
    for (unsigned k = 0; k < 16; ++k)
      acc += a_at(row, k) * b_at(k, col);
    out[i] = acc;
  }
  warp_barrier();
  std::memcpy(d, out, sizeof out);
}

void cp_async_16(void* shared_dst, const void* global_src, int src_bytes) {
  std::memset(shared_dst, 0, 16);
  if (src_bytes > 0)
    std::memcpy(shared_dst, global_src, static_cast<size_t>(src_bytes));
}

}  // namespace crowdiff::kernels::cuda::emu
