#pragma once

// Helpers of the CUDA kernel tests (the emulated ones and those on a GPU): seeded random inputs rounded to
// the 16-bit dtype the kernels store, error metrics against the plain-loop reference, and the stated
// tolerances.

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/backend.hpp"

namespace crowdiff::kernels::cuda::test {

/// A host f32 tensor, elements uniform in [lo, hi), seeded.
tensor random_f32(const shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f);
/// The host tensor `t` (any float dtype) converted to float dtype `to`, rounding to nearest even.
tensor converted(const tensor& t, dtype to);
/// Random data exactly representable in `t`: random_f32 rounded to `t` and back, as f32 (the reference's
/// input), with `rounded` set to the same values in `t` (the kernel's input).
tensor random_in(dtype t, const shape& s, uint64_t seed, tensor& rounded, float lo = -1.0f, float hi = 1.0f);

struct error_metrics {
  double relative_rms = 0;    ///< ||a - e||_2 / ||e||_2
  double max_normalized = 0;  ///< max |a - e| / max |e|
  bool finite = true;
  std::string to_string() const;
};
/// `actual` (any float dtype, host) against `expected` (host f32) of the same shape.
error_metrics compare(const tensor& actual, const tensor& expected);

/// Tolerances, per 16-bit dtype, against the f64-summing reference run on the same (rounded) inputs:
/// products and reductions (matmul, conv, attention, norms, softmax) by relative RMS error: f16 at most 2e-3
/// (the bound; rounding the output alone costs ~3e-4), bf16 at most 1e-2 (bf16 keeps 8 significant
/// bits, 8x fewer than f16; rounding the output alone costs ~2.5e-3). Pointwise results by the largest
/// error relative to the largest value: one rounding of the output, 2^-11 (f16) or 2^-8 (bf16), doubled.
constexpr double product_tolerance(dtype t) {
  return t == dtype::bf16 ? 1e-2 : 2e-3;
}
constexpr double pointwise_tolerance(dtype t) {
  return t == dtype::bf16 ? 7.9e-3 : 9.8e-4;
}

/// Checks a product's relative RMS (and finiteness) against product_tolerance(t).
void check_product(const tensor& actual, const tensor& expected, dtype t, const std::string& what);
/// Checks a pointwise result's max normalized error against pointwise_tolerance(t).
void check_pointwise(const tensor& actual, const tensor& expected, dtype t, const std::string& what);
/// Checks that `actual` equals `expected` bit for bit (same dtype and shape).
void check_exact(const tensor& actual, const tensor& expected, const std::string& what);

/// The plain-loop reference backend, made once.
backend& reference();

/// Unwraps a result in a test, failing loudly with the error.
template <class T>
T unwrap(result<T> r, const char* what);

/// The 16-bit dtypes the CUDA kernels run in.
inline constexpr dtype half_types[] = {dtype::f16, dtype::bf16};

}  // namespace crowdiff::kernels::cuda::test

#include <boost/test/unit_test.hpp>

namespace crowdiff::kernels::cuda::test {
template <class T>
T unwrap(result<T> r, const char* what) {
  BOOST_TEST_REQUIRE(r.has_value(), what << ": " << (r.has_value() ? "" : r.error().to_string()));
  return std::move(*r);
}
}  // namespace crowdiff::kernels::cuda::test
