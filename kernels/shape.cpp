#include "kernels/shape.hpp"

#include <algorithm>
#include <ostream>

namespace crowdiff::kernels {

shape::shape(std::initializer_list<int64_t> extents)
    : shape(std::span<const int64_t>(extents.begin(), extents.size())) {}

shape::shape(std::span<const int64_t> extents) {
  assert(valid(extents));
  rank_ = static_cast<int>(extents.size());
  std::copy(extents.begin(), extents.end(), extents_.begin());
}

bool shape::valid(std::span<const int64_t> extents) {
  return extents.size() <= static_cast<size_t>(max_rank) &&
         std::all_of(extents.begin(), extents.end(), [](int64_t e) { return e >= 0; });
}

void shape::set(int i, int64_t extent) {
  const int k = i < 0 ? i + rank_ : i;
  assert(k >= 0 && k < rank_ && extent >= 0);
  extents_[static_cast<size_t>(k)] = extent;
}

int64_t shape::numel() const {
  return numel(0, rank_);
}

int64_t shape::numel(int begin, int end) const {
  int64_t n = 1;
  for (int i = begin; i < end; ++i)
    n *= extents_[static_cast<size_t>(i)];
  return n;
}

std::string shape::to_string() const {
  std::string out = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i > 0)
      out += ", ";
    out += std::to_string(extents_[static_cast<size_t>(i)]);
  }
  return out + "]";
}

bool operator==(const shape& a, const shape& b) {
  return a.rank_ == b.rank_ &&
         std::equal(a.extents_.begin(), a.extents_.begin() + a.rank_, b.extents_.begin());
}

std::ostream& operator<<(std::ostream& out, const shape& s) {
  return out << s.to_string();
}

}  // namespace crowdiff::kernels
