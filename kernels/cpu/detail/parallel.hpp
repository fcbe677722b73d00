#pragma once

// Work splitting for our own CPU kernels. Debian's oneDNN runs its primitives on OpenMP (libgomp), so our
// kernels use the same OpenMP thread team: a second pool would fight oneDNN's spinning workers for the same
// cores between ops.

#include <algorithm>
#include <cstdint>
#include <omp.h>

namespace crowdiff::kernels::cpu::detail {

/// Sets the OpenMP team size for parallel regions started by the calling thread (oneDNN's included). OpenMP
/// keeps this per thread, so the backend calls it on entry to each op.
inline void use_threads(int threads) {
  if (omp_get_max_threads() != threads)
    omp_set_num_threads(threads);
}

/// Calls `f(begin, end)` on disjoint ranges covering [0, n), one contiguous range per thread. Ranges are
/// only split when there is more than `grain` work per thread, so tiny ops stay on the calling thread.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  const int64_t threads =
      std::min<int64_t>(omp_get_max_threads(), std::max<int64_t>(1, n / std::max<int64_t>(1, grain)));
  if (threads <= 1) {
    if (n > 0)
      f(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(static_cast <int>(threads))
  {
    const int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
    const int64_t begin = n * t / team, end = n * (t + 1) / team;
    if (begin < end)
      f(begin, end);
  }
}

/// Calls `f(i)` for each i in [0, n), handing items out dynamically: for uneven items (attention blocks
/// under a causal mask, rows of different cost).
template <class F>
void parallel_for_each(int64_t n, F&& f) {
  if (n <= 1 || omp_get_max_threads() == 1) {
    for (int64_t i = 0; i < n; ++i)
      f(i);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i)
    f(i);
}

}  // namespace crowdiff::kernels::cpu::detail
