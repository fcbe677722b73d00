#include "models/pipeline/heap_policy.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace crowdiff::models {

void return_large_blocks_to_the_system() {
#if defined(__GLIBC__)
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

}  // namespace crowdiff::models
