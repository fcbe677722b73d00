#pragma once

#include <array>
#include <cassert>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>

namespace crowdiff::kernels {

/// The extents of a row-major tensor, outermost first, e.g. [N, C, H, W]. At most `max_rank` dimensions; a
/// rank-0 shape is a scalar with one element. Stored inline, so copying a shape never allocates.
class shape {
 public:
  static constexpr int max_rank = 6;

  shape() = default;
  /// Asserts that there are at most `max_rank` extents; each extent must be >= 0 (callers validate data
  /// from outside with `make` instead).
  shape(std::initializer_list<int64_t> extents);
  explicit shape(std::span<const int64_t> extents);

  /// Whether `extents` can form a shape: at most `max_rank` of them, none negative. Check untrusted extents
  /// (from a file, a request) with this before constructing.
  static bool valid(std::span<const int64_t> extents);

  int rank() const { return rank_; }
  /// Extent of dimension `i`; negative `i` counts from the back (-1 is the last).
  int64_t operator[](int i) const {
    const int k = i < 0 ? i + rank_ : i;
    assert(k >= 0 && k < rank_);
    return extents_[static_cast<size_t>(k)];
  }
  /// Sets the extent of dimension `i` (negative counts from the back).
  void set(int i, int64_t extent);
  std::span<const int64_t> extents() const { return {extents_.data(), static_cast<size_t>(rank_)}; }

  /// Product of all extents (1 for a scalar).
  int64_t numel() const;
  /// Product of extents [begin, end).
  int64_t numel(int begin, int end) const;

  /// "[2, 320, 64, 64]".
  std::string to_string() const;

  friend bool operator==(const shape& a, const shape& b);

 private:
  std::array<int64_t, max_rank> extents_{};
  int rank_ = 0;
};

/// Writes `s.to_string()`.
std::ostream& operator<<(std::ostream& out, const shape& s);

}  // namespace crowdiff::kernels
