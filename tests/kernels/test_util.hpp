#pragma once

// Shared helpers of the kernel tests: seeded random tensors, error metrics, and the backends under test.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cpu/cpu_backend.hpp"
#include "kernels/reference/reference_backend.hpp"

namespace crowdiff::kernels::test {

/// A host tensor of `t` with elements uniform in [lo, hi), from a generator seeded by `seed`.
tensor random_tensor(const shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f, dtype t = dtype::f32);

/// Every element of a float tensor as f32 (any float dtype, host).
std::vector<float> to_vector(const tensor& t);

/// The tensor with its elements rounded to bf16 and back to f32: the inputs a bf16 kernel actually sees.
tensor rounded_to_bf16(const tensor& t);

/// How far `actual` is from `expected`.
struct error_metrics {
  double relative_rms = 0;    ///< ||a - e||_2 / ||e||_2.
  double max_abs = 0;         ///< max |a - e|.
  double max_normalized = 0;  ///< max |a - e| / max |e|.
  bool finite = true;         ///< Every element of `actual` is finite.
  std::string to_string() const;
};
error_metrics compare(const tensor& actual, const tensor& expected);

/// The backends under test, made once per test program.
backend& reference();
backend& cpu_f32();
/// nullptr when the CPU cannot run the bf16 policy; tests then say so and skip.
backend* cpu_bf16();

/// The optimized backends with a name and the error bounds they are held to for ops that multiply
/// (matmul, conv, attention): f32 within `rms_f32`, bf16 within a multiple of what rounding the inputs to
/// bf16 alone costs.
struct backend_case {
  std::string label;
  backend* be;
  bool bf16;
};
std::vector<backend_case> optimized_backends();

/// Error bounds. f32 kernels: relative RMS and max normalized error within `f32_tolerance` of the f64
/// reference. bf16 kernels (FlashAttention's criterion): relative RMS within `bf16_factor` times the error
/// of the reference run on inputs rounded to bf16 (plus `bf16_floor` for exact cases), and never above
/// `bf16_ceiling`.
inline constexpr double f32_tolerance = 1e-5;
inline constexpr double bf16_factor = 2.0;
inline constexpr double bf16_floor = 1e-4;
inline constexpr double bf16_ceiling = 1e-2;

/// Checks `actual` from `c` against `expected` (reference on the true inputs) with the bound for its
/// precision; `low_precision` is the reference on bf16-rounded inputs (ignored for f32).
void check_product(const backend_case& c, const tensor& actual, const tensor& expected,
                   const tensor& low_precision, const std::string& what);

/// Checks elementwise results (no long reductions): max normalized error within `tolerance`.
void check_pointwise(const tensor& actual, const tensor& expected, double tolerance, const std::string& what);

/// Unwraps a result in a test, failing loudly with the error.
template <class T>
T unwrap(result<T> r, const char* what);

}  // namespace crowdiff::kernels::test

#include <boost/test/unit_test.hpp>

namespace crowdiff::kernels::test {
template <class T>
T unwrap(result<T> r, const char* what) {
  BOOST_TEST_REQUIRE(r.has_value(), what << ": " << (r.has_value() ? "" : r.error().to_string()));
  return std::move(*r);
}
}  // namespace crowdiff::kernels::test
