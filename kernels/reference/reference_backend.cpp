#include "kernels/reference/reference_backend.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/half.hpp"

namespace crowdiff::kernels {

namespace {

float load(const tensor& t, int64_t i) {
  switch (t.dtype()) {
    case dtype::f32:
      return t.data_as<float>()[i];
    case dtype::f16:
      return f16_to_f32(t.data_as<uint16_t>()[i]);
    case dtype::bf16:
      return bf16_to_f32(t.data_as<uint16_t>()[i]);
    case dtype::i32:
      return static_cast<float>(t.data_as<int32_t>()[i]);
    case dtype::i64:
      return static_cast<float>(t.data_as<int64_t>()[i]);
    case dtype::u8:
      return t.data_as<uint8_t>()[i];
  }
  return 0.0f;
}

void store(const tensor& t, int64_t i, double value) {
  const auto v = static_cast<float>(value);
  switch (t.dtype()) {
    case dtype::f32:
      t.mutable_data_as<float>()[i] = v;
      return;
    case dtype::f16:
      t.mutable_data_as<uint16_t>()[i] = f32_to_f16(v);
      return;
    case dtype::bf16:
      t.mutable_data_as<uint16_t>()[i] = f32_to_bf16(v);
      return;
    case dtype::i32:
      t.mutable_data_as<int32_t>()[i] = static_cast<int32_t>(value);
      return;
    case dtype::i64:
      t.mutable_data_as<int64_t>()[i] = static_cast<int64_t>(value);
      return;
    case dtype::u8:
      t.mutable_data_as<uint8_t>()[i] = static_cast<uint8_t>(value);
      return;
  }
}

// Every element as f32 (weights may come in f16 or bf16).
std::vector<float> values(const tensor& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i)
    out[static_cast<size_t>(i)] = load(t, i);
  return out;
}

double apply(activation f, double x) {
  switch (f) {
    case activation::silu:
      return x / (1.0 + std::exp(-x));
    case activation::gelu:
      return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case activation::gelu_tanh: {
      const double inner = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
      return 0.5 * x * (1.0 + std::tanh(inner));
    }
    case activation::quick_gelu:
      return x / (1.0 + std::exp(-1.702 * x));
  }
  return x;
}

class reference_backend final : public backend {
 public:
  reference_backend() : backend(std::make_unique<host_allocator>()) {}

  std::string_view name() const override { return "reference"; }
  dtype activation_dtype() const override { return dtype::f32; }
  dtype compute_dtype() const override { return dtype::f32; }
  bool supports(op_kind op, dtype t) const override {
    return t == dtype::f32 || (op == op_kind::convert && is_float(t));
  }

 protected:
  bool owns_packed(const tensor&) const override { return false; }
  result<tensor> do_prepare_weight(const tensor& w, weight_use) override { return w; }

  status run_copy(const tensor& src, const tensor& dst) override {
    for (int64_t i = 0; i < src.numel(); ++i) {
      if (src.dtype() == dtype::i64)
        dst.mutable_data_as<int64_t>()[i] = src.data_as<int64_t>()[i];
      else if (src.dtype() == dtype::i32)
        dst.mutable_data_as<int32_t>()[i] = src.data_as<int32_t>()[i];
      else
        store(dst, i, load(src, i));
    }
    return status::ok();
  }

  status run_linear(const linear_params& p) override {
    const std::vector<float> x = values(p.x), w = values(p.w);
    const std::vector<float> b = p.bias.defined() ? values(p.bias) : std::vector<float>();
    for (int64_t m = 0; m < p.m; ++m) {
      for (int64_t n = 0; n < p.n; ++n) {
        double sum = b.empty() ? 0.0 : b[static_cast<size_t>(n)];
        for (int64_t k = 0; k < p.k; ++k)
          sum +=
              static_cast<double>(x[static_cast<size_t>(m * p.k + k)]) * w[static_cast<size_t>(n * p.k + k)];
        store(p.out, m * p.n + n, sum);
      }
    }
    return status::ok();
  }

  status run_matmul(const matmul_params& p) override {
    const std::vector<float> a = values(p.a), b = values(p.b);
    for (int64_t batch = 0; batch < p.batch; ++batch) {
      const int64_t bb = p.batch_b == 1 ? 0 : batch;
      for (int64_t m = 0; m < p.m; ++m) {
        for (int64_t n = 0; n < p.n; ++n) {
          double sum = 0.0;
          for (int64_t k = 0; k < p.k; ++k) {
            const int64_t b_index =
                p.options.transpose_b ? (bb * p.n + n) * p.k + k : (bb * p.k + k) * p.n + n;
            sum += static_cast<double>(a[static_cast<size_t>((batch * p.m + m) * p.k + k)]) *
                   b[static_cast<size_t>(b_index)];
          }
          store(p.out, (batch * p.m + m) * p.n + n, p.options.alpha * sum);
        }
      }
    }
    return status::ok();
  }

  status run_conv2d(const conv2d_params& p) override {
    const std::vector<float> x = values(p.x), w = values(p.weight);
    const std::vector<float> b = p.bias.defined() ? values(p.bias) : std::vector<float>();
    for (int64_t n = 0; n < p.n; ++n)
      for (int64_t o = 0; o < p.o; ++o)
        for (int64_t oy = 0; oy < p.oh; ++oy)
          for (int64_t ox = 0; ox < p.ow; ++ox) {
            double sum = b.empty() ? 0.0 : b[static_cast<size_t>(o)];
            for (int64_t c = 0; c < p.c; ++c)
              for (int64_t ky = 0; ky < p.kh; ++ky)
                for (int64_t kx = 0; kx < p.kw; ++kx) {
                  const int64_t iy = oy * p.options.stride - p.options.pad_top + ky;
                  const int64_t ix = ox * p.options.stride - p.options.pad_left + kx;
                  if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w)
                    continue;
                  sum += static_cast<double>(x[static_cast<size_t>(((n * p.c + c) * p.h + iy) * p.w + ix)]) *
                         w[static_cast<size_t>(((o * p.c + c) * p.kh + ky) * p.kw + kx)];
                }
            store(p.out, ((n * p.o + o) * p.oh + oy) * p.ow + ox, sum);
          }
    return status::ok();
  }

  status run_group_norm(const group_norm_params& p) override {
    const std::vector<float> gamma = p.gamma.defined() ? values(p.gamma) : std::vector<float>();
    const std::vector<float> beta = p.beta.defined() ? values(p.beta) : std::vector<float>();
    const int64_t channels_per_group = p.c / p.groups;
    const int64_t group_size = channels_per_group * p.spatial;
    for (int64_t n = 0; n < p.n; ++n) {
      for (int64_t g = 0; g < p.groups; ++g) {
        const int64_t base = (n * p.c + g * channels_per_group) * p.spatial;
        double mean = 0.0;
        for (int64_t i = 0; i < group_size; ++i)
          mean += load(p.x, base + i);
        mean /= static_cast<double>(std::max<int64_t>(1, group_size));
        double var = 0.0;
        for (int64_t i = 0; i < group_size; ++i)
          var += (load(p.x, base + i) - mean) * (load(p.x, base + i) - mean);
        var /= static_cast<double>(std::max<int64_t>(1, group_size));
        const double inv = 1.0 / std::sqrt(var + p.eps);
        for (int64_t i = 0; i < group_size; ++i) {
          const auto c = static_cast<size_t>(g * channels_per_group + i / p.spatial);
          double y = (load(p.x, base + i) - mean) * inv;
          y = y * (gamma.empty() ? 1.0 : gamma[c]) + (beta.empty() ? 0.0 : beta[c]);
          store(p.out, base + i, p.silu ? apply(activation::silu, y) : y);
        }
      }
    }
    return status::ok();
  }

  status run_layer_norm(const layer_norm_params& p) override {
    const std::vector<float> gamma = p.gamma.defined() ? values(p.gamma) : std::vector<float>();
    const std::vector<float> beta = p.beta.defined() ? values(p.beta) : std::vector<float>();
    for (int64_t r = 0; r < p.rows; ++r) {
      double mean = 0.0, var = 0.0;
      for (int64_t i = 0; i < p.dim; ++i)
        mean += load(p.x, r * p.dim + i);
      mean /= static_cast<double>(p.dim);
      for (int64_t i = 0; i < p.dim; ++i)
        var += (load(p.x, r * p.dim + i) - mean) * (load(p.x, r * p.dim + i) - mean);
      var /= static_cast<double>(p.dim);
      const double inv = 1.0 / std::sqrt(var + p.eps);
      for (int64_t i = 0; i < p.dim; ++i) {
        const auto u = static_cast<size_t>(i);
        const double y = (load(p.x, r * p.dim + i) - mean) * inv;
        store(p.out, r * p.dim + i, y * (gamma.empty() ? 1.0 : gamma[u]) + (beta.empty() ? 0.0 : beta[u]));
      }
    }
    return status::ok();
  }

  status run_attention(const attention_params& p) override {
    const int64_t qk_stride = p.heads * p.head_dim, v_stride = p.heads * p.head_dim_v;
    std::vector<double> scores(static_cast<size_t>(p.lk));
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t h = 0; h < p.heads; ++h)
        for (int64_t i = 0; i < p.lq; ++i) {
          const int64_t visible = p.causal ? std::min(p.lk, i + 1) : p.lk;
          double max_score = -std::numeric_limits<double>::infinity();
          for (int64_t j = 0; j < visible; ++j) {
            double dot = 0.0;
            for (int64_t d = 0; d < p.head_dim; ++d)
              dot += static_cast<double>(load(p.q, (b * p.lq + i) * qk_stride + h * p.head_dim + d)) *
                     load(p.k, (b * p.lk + j) * qk_stride + h * p.head_dim + d);
            scores[static_cast<size_t>(j)] = dot * p.scale;
            max_score = std::max(max_score, dot * p.scale);
          }
          double total = 0.0;
          for (int64_t j = 0; j < visible; ++j) {
            scores[static_cast<size_t>(j)] = std::exp(scores[static_cast<size_t>(j)] - max_score);
            total += scores[static_cast<size_t>(j)];
          }
          for (int64_t d = 0; d < p.head_dim_v; ++d) {
            double sum = 0.0;
            for (int64_t j = 0; j < visible; ++j)
              sum += scores[static_cast<size_t>(j)] *
                     load(p.v, (b * p.lk + j) * v_stride + h * p.head_dim_v + d);
            store(p.out, (b * p.lq + i) * v_stride + h * p.head_dim_v + d, sum / total);
          }
        }
    return status::ok();
  }

  status run_softmax(const softmax_params& p) override {
    std::vector<double> row(static_cast<size_t>(p.cols));
    for (int64_t r = 0; r < p.rows; ++r) {
      double max_value = -std::numeric_limits<double>::infinity(), total = 0.0;
      for (int64_t c = 0; c < p.cols; ++c)
        max_value = std::max<double>(max_value, load(p.x, r * p.cols + c));
      for (int64_t c = 0; c < p.cols; ++c) {
        row[static_cast<size_t>(c)] = std::exp(load(p.x, r * p.cols + c) - max_value);
        total += row[static_cast<size_t>(c)];
      }
      for (int64_t c = 0; c < p.cols; ++c)
        store(p.out, r * p.cols + c, row[static_cast<size_t>(c)] / total);
    }
    return status::ok();
  }

  status run_activation(const activation_params& p) override {
    for (int64_t i = 0; i < p.count; ++i)
      store(p.out, i, apply(p.function, load(p.x, i)));
    return status::ok();
  }

  status run_geglu(const geglu_params& p) override {
    for (int64_t r = 0; r < p.rows; ++r)
      for (int64_t i = 0; i < p.half; ++i) {
        const double value = load(p.x, r * 2 * p.half + i), gate = load(p.x, r * 2 * p.half + p.half + i);
        store(p.out, r * p.half + i, value * apply(activation::gelu, gate));
      }
    return status::ok();
  }

  status run_upsample(const upsample_params& p) override {
    const int64_t oh = p.h * p.factor, ow = p.w * p.factor;
    for (int64_t plane = 0; plane < p.planes; ++plane)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x)
          store(p.out, (plane * oh + y) * ow + x,
                load(p.x, (plane * p.h + y / p.factor) * p.w + x / p.factor));
    return status::ok();
  }

  status run_binary(const binary_params& p) override {
    const int64_t count = p.a.numel();
    for (int64_t i = 0; i < count; ++i) {
      int64_t rest = i, b_index = 0;
      for (int d = p.rank - 1; d >= 0; --d) {
        const auto u = static_cast<size_t>(d);
        b_index += (rest % p.dims[u]) * p.b_strides[u];
        rest /= p.dims[u];
      }
      const double a = load(p.a, i), b = load(p.b, b_index);
      store(p.out, i, p.op == binary_params::kind::add ? a + b : a * b);
    }
    return status::ok();
  }

  status run_scale(const scale_params& p) override {
    for (int64_t i = 0; i < p.count; ++i)
      store(p.out, i, static_cast<double>(p.alpha) * load(p.x, i) + p.beta);
    return status::ok();
  }

  status run_concat(const concat_params& p) override {
    const int64_t out_inner = p.out.numel() / std::max<int64_t>(1, p.outer);
    int64_t offset = 0;
    for (const tensor& in : p.inputs) {
      const int64_t inner = in.numel() / std::max<int64_t>(1, p.outer);
      for (int64_t o = 0; o < p.outer; ++o)
        for (int64_t i = 0; i < inner; ++i)
          store(p.out, o * out_inner + offset + i, load(in, o * inner + i));
      offset += inner;
    }
    return status::ok();
  }

  status run_permute(const permute_params& p) override {
    std::array<int64_t, shape::max_rank> in_strides{};
    int64_t stride = 1;
    for (int d = p.rank - 1; d >= 0; --d) {
      in_strides[static_cast<size_t>(d)] = stride;
      stride *= p.x.size(d);
    }
    for (int64_t i = 0; i < p.out.numel(); ++i) {
      int64_t rest = i, source = 0;
      for (int d = p.rank - 1; d >= 0; --d) {
        const int64_t extent = p.out.size(d);
        source += (rest % extent) * in_strides[static_cast<size_t>(p.perm[static_cast<size_t>(d)])];
        rest /= extent;
      }
      store(p.out, i, load(p.x, source));
    }
    return status::ok();
  }

  status run_slice(const slice_params& p) override {
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t s = 0; s < p.length; ++s)
        for (int64_t i = 0; i < p.inner; ++i)
          store(p.out, (o * p.length + s) * p.inner + i,
                load(p.x, (o * p.extent + p.start + s) * p.inner + i));
    return status::ok();
  }

  status run_embedding(const embedding_params& p) override {
    for (int64_t i = 0; i < p.count; ++i) {
      const int64_t id =
          p.ids.dtype() == dtype::i32 ? p.ids.data_as<int32_t>()[i] : p.ids.data_as<int64_t>()[i];
      if (id < 0 || id >= p.vocab)
        return {errc::invalid_argument, "embedding: id " + std::to_string(id) + " outside the table"};
      for (int64_t d = 0; d < p.dim; ++d)
        store(p.out, i * p.dim + d, load(p.table, id * p.dim + d));
    }
    return status::ok();
  }

  status run_convert(const convert_params& p) override { return run_copy(p.x, p.out); }
};

}  // namespace

std::unique_ptr<backend> make_reference_backend() {
  return std::make_unique<reference_backend>();
}

}  // namespace crowdiff::kernels
