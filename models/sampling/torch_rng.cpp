#include "models/sampling/torch_rng.hpp"

#include <bit>
#include <cmath>
#include <limits>
#include <numbers>

namespace crowdiff::models {
namespace {

// The vectorised kernel's log and sincos are Julien Pommier's Cephes-derived polynomials (avx_mathfun.h in
// ATen). Reproducing torch bit for bit means the same float operations in the same order with the same
// roundings. torch's x86 wheels are built by GCC with FMA enabled, which fuses each multiply whose only use
// is an add into one fma; the std::fma calls below are exactly those fusions (found by testing against
// torch), and this file is compiled with -ffp-contract=off so our compiler adds no others.

float bits_to_float(uint32_t bits) {
  return std::bit_cast<float>(bits);
}
uint32_t float_to_bits(float value) {
  return std::bit_cast<uint32_t>(value);
}

float cephes_log(float x) {
  const bool invalid = !(x > 0.0f);
  x = std::fmax(x, bits_to_float(0x00800000u));  // the smallest normal float: no denormals below
  auto exponent = static_cast<int32_t>(float_to_bits(x) >> 23);
  x = bits_to_float((float_to_bits(x) & ~0x7f800000u) | float_to_bits(0.5f));
  exponent -= 0x7f;
  float e = static_cast<float>(exponent);
  e = e + 1.0f;
  const bool below = x < 0.707106781186547524f;
  const float tmp = below ? x : 0.0f;
  x = x - 1.0f;
  e = e - (below ? 1.0f : 0.0f);
  x = x + tmp;
  const float z = x * x;
  float y = 7.0376836292E-2f;
  y = std::fma(y, x, -1.1514610310E-1f);
  y = std::fma(y, x, 1.1676998740E-1f);
  y = std::fma(y, x, -1.2420140846E-1f);
  y = std::fma(y, x, 1.4249322787E-1f);
  y = std::fma(y, x, -1.6668057665E-1f);
  y = std::fma(y, x, 2.0000714765E-1f);
  y = std::fma(y, x, -2.4999993993E-1f);
  y = std::fma(y, x, 3.3333331174E-1f);
  y = y * x;
  y = std::fma(y, z, e * -2.12194440e-4f);
  y = std::fma(-z, 0.5f, y);
  x = x + y;
  x = std::fma(e, 0.693359375f, x);
  return invalid ? std::numeric_limits<float>::quiet_NaN() : x;
}

void cephes_sincos(float x, float* sin_out, float* cos_out) {
  const uint32_t sign_in = float_to_bits(x) & 0x80000000u;
  x = std::fabs(x);
  float y = x * 1.27323954473516f;  // 4 / pi
  auto j = static_cast<int32_t>(y);
  j = (j + 1) & ~1;
  y = static_cast<float>(j);
  const uint32_t swap_sign_sin = static_cast<uint32_t>(j & 4) << 29;
  const bool use_sin_poly = (j & 2) == 0;
  // Extended-precision reduction x - y * pi/4, with pi/4 split in three parts.
  x = std::fma(y, -0.78515625f, x);
  x = std::fma(y, -2.4187564849853515625e-4f, x);
  x = std::fma(y, -3.77489497744594108e-8f, x);
  const uint32_t sign_cos = static_cast<uint32_t>(~(j - 2) & 4) << 29;
  const uint32_t sign_sin = sign_in ^ swap_sign_sin;

  const float z = x * x;
  float c = 2.443315711809948E-005f;
  c = std::fma(c, z, -1.388731625493765E-003f);
  c = std::fma(c, z, 4.166664568298827E-002f);
  c = c * z;
  c = std::fma(c, z, -(z * 0.5f));
  c = c + 1.0f;

  float s = -1.9515295891E-4f;
  s = std::fma(s, z, 8.3321608736E-3f);
  s = std::fma(s, z, -1.6666654611E-1f);
  s = s * z;
  s = std::fma(s, x, x);

  // Each output takes one polynomial; the other one's share is zero.
  const float sin_part = use_sin_poly ? s : 0.0f;
  const float cos_part = use_sin_poly ? 0.0f : c;
  const float sin_rest = s - sin_part;
  const float cos_rest = c - cos_part;
  *sin_out = bits_to_float(float_to_bits(cos_part + sin_part) ^ sign_sin);
  *cos_out = bits_to_float(float_to_bits(cos_rest + sin_rest) ^ sign_cos);
}

}  // namespace

torch_rng::torch_rng(uint64_t seed, torch_normal_kernel kernel) : kernel_(kernel) {
  state_[0] = static_cast<uint32_t>(seed & 0xffffffffu);
  for (int j = 1; j < state_size; ++j)
    state_[j] = 1812433253u * (state_[j - 1] ^ (state_[j - 1] >> 30)) + static_cast<uint32_t>(j);
  left_ = 1;
  next_ = 0;
}

void torch_rng::twist() {
  constexpr int m = 397;
  constexpr uint32_t matrix_a = 0x9908b0dfu;
  auto mix = [](uint32_t u, uint32_t v) {
    const uint32_t y = (u & 0x80000000u) | (v & 0x7fffffffu);
    return (y >> 1) ^ ((v & 1u) ? matrix_a : 0u);
  };
  for (int i = 0; i < state_size - m; ++i)
    state_[i] = state_[i + m] ^ mix(state_[i], state_[i + 1]);
  for (int i = state_size - m; i < state_size - 1; ++i)
    state_[i] = state_[i + m - state_size] ^ mix(state_[i], state_[i + 1]);
  state_[state_size - 1] = state_[m - 1] ^ mix(state_[state_size - 1], state_[0]);
  left_ = state_size;
  next_ = 0;
}

uint32_t torch_rng::random() {
  if (--left_ == 0)
    twist();
  uint32_t y = state_[next_++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= (y >> 18);
  return y;
}

uint64_t torch_rng::random64() {
  const uint64_t high = random();
  const uint64_t low = random();
  return (high << 32) | low;
}

float torch_rng::uniform_float() {
  return static_cast<float>(random() & ((1u << 24) - 1)) * (1.0f / static_cast<float>(1u << 24));
}

double torch_rng::uniform_double() {
  return static_cast<double>(random64() & ((uint64_t{1} << 53) - 1)) *
         (1.0 / static_cast<double>(uint64_t{1} << 53));
}

double torch_rng::normal_double() {
  if (next_double_normal_) {
    const double cached = *next_double_normal_;
    next_double_normal_.reset();
    return cached;
  }
  const double u1 = uniform_double();
  const double u2 = uniform_double();
  const double r = std::sqrt(-2.0 * std::log1p(-u2));
  const double theta = 2.0 * std::numbers::pi * u1;
  next_double_normal_ = r * std::sin(theta);
  return r * std::cos(theta);
}

void torch_rng::normal_fill_16(float* data) const {
  for (int j = 0; j < 8; ++j) {
    const float u1 = 1.0f - data[j];
    const float u2 = data[j + 8];
    if (kernel_ == torch_normal_kernel::avx2) {
      const float radius = std::sqrt(-2.0f * cephes_log(u1));
      const float theta = static_cast<float>(2.0f * std::numbers::pi) * u2;
      float sin_theta = 0.0f;
      float cos_theta = 0.0f;
      cephes_sincos(theta, &sin_theta, &cos_theta);
      data[j] = radius * cos_theta;
      data[j + 8] = radius * sin_theta;
    } else {
      const float radius = std::sqrt(-2.0f * std::log(u1));
      const auto theta = static_cast<float>(2.0f * std::numbers::pi * u2);
      data[j] = radius * std::cos(theta);
      data[j + 8] = radius * std::sin(theta);
    }
  }
}

void torch_rng::randn(std::span<float> out) {
  const size_t size = out.size();
  if (size < 16) {
    // torch's serial path: double-precision Box-Muller whose second value waits in the generator.
    for (float& value : out)
      value = static_cast<float>(normal_double());
    return;
  }
  for (float& value : out)
    value = uniform_float();
  for (size_t i = 0; i + 16 <= size; i += 16)
    normal_fill_16(out.data() + i);
  if (size % 16 != 0) {
    // torch redraws the last 16 values, overwriting part of the final full block.
    float* tail = out.data() + size - 16;
    for (int i = 0; i < 16; ++i)
      tail[i] = uniform_float();
    normal_fill_16(tail);
  }
}

std::vector<float> torch_rng::randn(size_t count) {
  std::vector<float> out(count);
  randn(std::span<float>(out));
  return out;
}

}  // namespace crowdiff::models
