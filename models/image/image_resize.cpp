#include "models/image/image_resize.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

namespace crowdiff::models {

namespace {

// For each output coordinate: the first input index and the normalised weights of the inputs it blends.
struct filter_row {
  int first = 0;
  std::vector<double> weights;
};

std::vector<filter_row> triangle_filter(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double support = std::max(1.0, scale);  // the triangle's half-width in input pixels
  std::vector<filter_row> rows(static_cast<size_t>(out_size));
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(std::floor(center - support)));
    const int hi = std::min(in_size, static_cast<int>(std::ceil(center + support)));
    filter_row& row = rows[static_cast<size_t>(o)];
    row.first = lo;
    double total = 0;
    for (int i = lo; i < hi; ++i) {
      const double w = std::max(0.0, 1.0 - std::abs((i + 0.5 - center) / support));
      row.weights.push_back(w);
      total += w;
    }
    if (total <= 0) {
      row.weights.assign(1, 1.0);
      row.first = std::clamp(static_cast<int>(center), 0, in_size - 1);
      total = 1;
    }
    for (double& w : row.weights)
      w /= total;
  }
  return rows;
}

}  // namespace

rgb_image resize_bilinear(const rgb_image& image, int width, int height) {
  assert(image.valid() && width > 0 && height > 0);
  if (image.width == width && image.height == height)
    return image;
  const auto columns = triangle_filter(image.width, width);
  const auto rows = triangle_filter(image.height, height);
  // Horizontal pass into doubles, then vertical, rounding once at the end.
  std::vector<double> horizontal(static_cast<size_t>(image.height) * static_cast<size_t>(width) * 3);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < width; ++x) {
      const filter_row& f = columns[static_cast<size_t>(x)];
      for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (size_t k = 0; k < f.weights.size(); ++k) {
          const size_t at =
              (static_cast<size_t>(y) * static_cast<size_t>(image.width) + static_cast<size_t>(f.first) + k) *
                  3 +
              static_cast<size_t>(c);
          sum += f.weights[k] * image.pixels[at];
        }
        horizontal[(static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3 +
                   static_cast<size_t>(c)] = sum;
      }
    }
  }
  rgb_image out;
  out.width = width;
  out.height = height;
  out.pixels.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (int y = 0; y < height; ++y) {
    const filter_row& f = rows[static_cast<size_t>(y)];
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (size_t k = 0; k < f.weights.size(); ++k)
          sum += f.weights[k] * horizontal[((static_cast<size_t>(f.first) + k) * static_cast<size_t>(width) +
                                            static_cast<size_t>(x)) *
                                               3 +
                                           static_cast<size_t>(c)];
        out.pixels[(static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3 +
                   static_cast<size_t>(c)] = static_cast<uint8_t>(std::clamp(std::lround(sum), 0L, 255L));
      }
    }
  }
  return out;
}

}  // namespace crowdiff::models
