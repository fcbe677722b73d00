#pragma once

#include <cstdint>
#include <memory>

#include "common/status.hpp"
#include "kernels/backend.hpp"

namespace crowdiff::kernels {

/// What the CPU multiplies matmuls, convolutions and attention in. Activations are f32 either way.
enum class cpu_precision : uint8_t {
  automatic,  ///< bf16 where the CPU multiplies bf16 natively (AVX512-BF16 or AMX), else f32.
  f32,        ///< The reference precision.
  bf16,       ///< bf16 inputs, f32 accumulation: about twice the speed on AVX512-BF16, more on AMX.
};

struct cpu_options {
  cpu_precision precision = cpu_precision::automatic;
  /// Threads for every op, oneDNN's included; 0 means OpenMP's default (all the cores the process may use).
  int threads = 0;
};

/// What the running CPU offers the backend.
struct cpu_features {
  bool avx512 = false;       ///< AVX-512 F/BW/VL/DQ: oneDNN's fast f32 kernels, our 16-lane code.
  bool avx512_bf16 = false;  ///< vdpbf16ps: the bf16 path.
  bool amx_bf16 = false;     ///< AMX tiles: oneDNN's fastest bf16 matmuls and convolutions.
};

cpu_features detect_cpu_features();

/// The CPU backend: oneDNN (OpenMP threads) for linear, matmul and conv2d, our own vectorized code for the
/// rest, attention fused (never materializing the score matrix). f32 activations. `prepare_weight` converts
/// weights to the precision's dtype once (a linear weight already in it is used in place, straight from a
/// mapped file) and packs convolution filters into oneDNN's blocked layout.
/// unsupported when bf16 is asked for on a CPU without AVX512-BF16; internal when oneDNN cannot start.
result<std::unique_ptr<backend>> make_cpu_backend(cpu_options options = {});

}  // namespace crowdiff::kernels
