#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace crowdiff::models {

/// Which of torch's CPU normal kernels to reproduce. torch picks one per build and CPU: x86 builds running
/// on an AVX2 or AVX-512 CPU take the vectorised Box-Muller (Cephes polynomial log/sin/cos); other builds
/// (ARM, or ATEN_CPU_CAPABILITY=default) take the scalar one (libm logf/sinf/cosf). They differ in the last
/// bits, so a worker must name the one its reference images came from.
enum class torch_normal_kernel : uint8_t { avx2 = 0, scalar = 1 };

/// A bit-exact reimplementation of `torch.Generator("cpu")`: torch's mt19937 engine, its uniform and normal
/// transforms, and `torch.randn`'s choice between the 16-wide Box-Muller (16 or more elements) and the
/// cached scalar Box-Muller in double precision (fewer than 16). The state carries across calls exactly as
/// the torch generator's does, so a sequence of `randn` calls matches the same sequence in torch.
class torch_rng {
 public:
  /// Same state as `torch.Generator("cpu").manual_seed(seed)`: torch seeds mt19937 with the low 32 bits.
  explicit torch_rng(uint64_t seed, torch_normal_kernel kernel = torch_normal_kernel::avx2);

  /// Next 32 raw bits of the engine (torch's `random()`).
  uint32_t random();
  /// Next 64 raw bits: two draws, the first in the high half (torch's `random64()`).
  uint64_t random64();

  /// Fills `out` like `torch.randn(out.size(), generator=g)` in float32 (mean 0, std 1).
  void randn(std::span<float> out);
  /// Convenience: a new vector of `count` samples.
  std::vector<float> randn(size_t count);

 private:
  static constexpr int state_size = 624;
  void twist();
  float uniform_float();
  double uniform_double();
  double normal_double();
  void normal_fill_16(float* data) const;

  std::array<uint32_t, state_size> state_{};
  int left_ = 1;
  int next_ = 0;
  torch_normal_kernel kernel_;
  std::optional<double> next_double_normal_;
};

}  // namespace crowdiff::models
