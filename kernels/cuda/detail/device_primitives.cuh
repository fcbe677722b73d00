#pragma once

// The few device facilities our hand-written kernels use, behind functions of our own: thread and block
// indices, barriers, warp shuffles, and the sm_80 matrix instructions (ldmatrix, mma.sync m16n8k16,
// cp.async). Compiled by nvcc they are the hardware's. Compiled by a host compiler (no __CUDACC__) they are
// declarations that a test links to a host emulation (tests/kernels/cuda/emulation/), which runs each block's
// threads as coroutines: so the kernels' index arithmetic, fragment layouts and online softmax are checked on
// machines without a GPU, in CI. Kernels use nothing device-specific outside this header.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#if defined(__CUDACC__)
#define CROWDIFF_DEVICE __device__ __forceinline__
#define CROWDIFF_KERNEL __global__
#define CROWDIFF_LAUNCH_BOUNDS(threads) __launch_bounds__(threads)
#define CROWDIFF_SHARED __shared__
#define CROWDIFF_UNROLL _Pragma("unroll")
#else
#define CROWDIFF_DEVICE inline
#define CROWDIFF_KERNEL
#define CROWDIFF_LAUNCH_BOUNDS(threads)
// The emulation runs one block at a time, so a function-local static is exactly one block's shared memory.
#define CROWDIFF_SHARED static
#define CROWDIFF_UNROLL
#endif

namespace crowdiff::kernels::cuda {

/// A launch configuration: the grid, threads per block and dynamic shared memory. Kernel headers compute it,
/// so that the launchers and the emulation test launch alike.
struct launch_dims {
  unsigned grid_x = 1, grid_y = 1, grid_z = 1;
  unsigned threads = 128;
  size_t shared_bytes = 0;
};

/// Two 16-bit values side by side, the lower index in the lower half (the tensor cores' fragment element).
using pair16 = uint32_t;

#if defined(__CUDACC__)

CROWDIFF_DEVICE unsigned thread_x() {
  return threadIdx.x;
}
CROWDIFF_DEVICE unsigned block_x() {
  return blockIdx.x;
}
CROWDIFF_DEVICE unsigned block_y() {
  return blockIdx.y;
}
CROWDIFF_DEVICE unsigned block_z() {
  return blockIdx.z;
}
CROWDIFF_DEVICE unsigned block_dim_x() {
  return blockDim.x;
}
CROWDIFF_DEVICE unsigned grid_dim_x() {
  return gridDim.x;
}
/// The block's dynamic shared memory, 16-byte aligned.
CROWDIFF_DEVICE void* dynamic_shared() {
  extern __shared__ uint4 crowdiff_dynamic_shared[];
  return crowdiff_dynamic_shared;
}
CROWDIFF_DEVICE void sync_threads() {
  __syncthreads();
}
CROWDIFF_DEVICE float shfl_xor(float v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}

/// Four 8x8 b16 matrices from shared memory: lane l gives the address of row l % 8 of matrix l / 8 and gets
/// row l / 4, columns 2 (l % 4) and 2 (l % 4) + 1 of each matrix (with `transpose`, row and column swapped).
CROWDIFF_DEVICE void ldmatrix_x4(pair16 (&r)[4], const void* row) {
  const auto a = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}
CROWDIFF_DEVICE void ldmatrix_x4_trans(pair16 (&r)[4], const void* row) {
  const auto a = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}

/// d += a (16x16, row-major fragment) * b (16x8, column fragment), f32 accumulation, for T = __half or
/// __nv_bfloat16.
template <class T>
CROWDIFF_DEVICE void mma_16816(float (&d)[4], const pair16 (&a)[4], pair16 b0, pair16 b1);

template <>
CROWDIFF_DEVICE void mma_16816<__half>(float (&d)[4], const pair16 (&a)[4], pair16 b0, pair16 b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
CROWDIFF_DEVICE void mma_16816<__nv_bfloat16>(float (&d)[4], const pair16 (&a)[4], pair16 b0, pair16 b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/// Starts copying 16 bytes from global to shared memory; only the first `src_bytes` (0 or 16) are read, the
/// rest is zero-filled. Completes at the next `cp_async_wait_all` after `cp_async_commit`.
CROWDIFF_DEVICE void cp_async_16(void* shared_dst, const void* global_src, int src_bytes) {
  const auto d = static_cast<unsigned>(__cvta_generic_to_shared(shared_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(global_src), "r"(src_bytes));
}
CROWDIFF_DEVICE void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
CROWDIFF_DEVICE void cp_async_wait_all() {
  asm volatile("cp.async.wait_group 0;\n" ::);
}

#else  // host emulation: implemented by tests/kernels/cuda/emulation/

namespace emu {
unsigned thread_x();
unsigned block_x();
unsigned block_y();
unsigned block_z();
unsigned block_dim_x();
unsigned grid_dim_x();
void* dynamic_shared();
void sync_threads();
float shfl_xor(float v, int mask);
void ldmatrix_x4(pair16 (&r)[4], const void* row, bool transpose);
void mma_16816(float (&d)[4], const pair16 (&a)[4], pair16 b0, pair16 b1, bool bf16);
void cp_async_16(void* shared_dst, const void* global_src, int src_bytes);
}  // namespace emu

inline unsigned thread_x() {
  return emu::thread_x();
}
inline unsigned block_x() {
  return emu::block_x();
}
inline unsigned block_y() {
  return emu::block_y();
}
inline unsigned block_z() {
  return emu::block_z();
}
inline unsigned block_dim_x() {
  return emu::block_dim_x();
}
inline unsigned grid_dim_x() {
  return emu::grid_dim_x();
}
inline void* dynamic_shared() {
  return emu::dynamic_shared();
}
inline void sync_threads() {
  emu::sync_threads();
}
inline float shfl_xor(float v, int mask) {
  return emu::shfl_xor(v, mask);
}
inline void ldmatrix_x4(pair16 (&r)[4], const void* row) {
  emu::ldmatrix_x4(r, row, false);
}
inline void ldmatrix_x4_trans(pair16 (&r)[4], const void* row) {
  emu::ldmatrix_x4(r, row, true);
}
template <class T>
inline void mma_16816(float (&d)[4], const pair16 (&a)[4], pair16 b0, pair16 b1) {
  emu::mma_16816(d, a, b0, b1, std::is_same_v<T, __nv_bfloat16>);
}
inline void cp_async_16(void* shared_dst, const void* global_src, int src_bytes) {
  emu::cp_async_16(shared_dst, global_src, src_bytes);
}
inline void cp_async_commit() {}
inline void cp_async_wait_all() {}

#endif

/// Stores a packed pair at `dst` (4-byte aligned).
CROWDIFF_DEVICE void store_pair(void* dst, pair16 v) {
#if defined(__CUDACC__)
  *static_cast<pair16*>(dst) = v;
#else
  std::memcpy(dst, &v, sizeof v);
#endif
}

}  // namespace crowdiff::kernels::cuda
