#include "kernels/cpu/detail/cpu_env.hpp"

#include "kernels/cpu/detail/convert.hpp"

namespace crowdiff::kernels::cpu::detail {

result<operand> in_dtype(const tensor& t, dtype to, arena& scratch) {
  if (t.dtype() == to)
    return operand{t.data(), {}};
  auto block = scratch.allocate(static_cast<size_t>(t.numel()) * dtype_size(to));
  if (!block)
    return block.error();
  convert(t.data(), t.dtype(), (*block)->data(), to, t.numel());
  return operand{(*block)->data(), std::move(*block)};
}

result<storage_ref> scratch_block(arena& scratch, size_t bytes) {
  return scratch.allocate(bytes);
}

}  // namespace crowdiff::kernels::cpu::detail
