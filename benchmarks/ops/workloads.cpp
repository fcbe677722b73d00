#include "workloads.hpp"

#include <memory>
#include <random>

#include "kernels/status_macros.hpp"

namespace crowdiff::bench {

namespace {

using kernels::backend;
using kernels::shape;
using kernels::tensor;

result<tensor> random_tensor(backend& be, const shape& s, uint64_t seed, float spread = 1.0f) {
  auto host = tensor::host(s, kernels::dtype::f32);
  if (!host)
    return host.error();
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> dist(-spread, spread);
  auto* data = host->mutable_data_as<float>();
  for (int64_t i = 0; i < s.numel(); ++i)
    data[i] = dist(rng);
  return be.upload(*host);
}

// A weight as a model holds it: random, then prepared once by the backend.
result<tensor> weight(backend& be, const shape& s, kernels::weight_use use, uint64_t seed) {
  auto host = tensor::host(s, kernels::dtype::f32);
  if (!host)
    return host.error();
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> dist(0.0f, 0.05f);
  for (int64_t i = 0; i < s.numel(); ++i)
    host->mutable_data_as<float>()[i] = dist(rng);
  return be.prepare_weight(*host, use);
}

workload linear_workload(std::string name, int64_t m, int64_t k, int64_t n) {
  const int64_t slice_rows = std::min<int64_t>(m, 32);
  return {name,
          "[" + std::to_string(m) + ", " + std::to_string(k) + "] x [" + std::to_string(n) + ", " +
              std::to_string(k) + "]^T",
          2.0 * static_cast<double>(m * k * n) * 1e-9,
          static_cast<double>(slice_rows) / static_cast<double>(m),
          [=](backend& be, bool slice) -> result<runner> {
            CROWDIFF_ASSIGN_OR_RETURN(tensor x, random_tensor(be, {slice ? slice_rows : m, k}, 1));
            CROWDIFF_ASSIGN_OR_RETURN(tensor w, weight(be, {n, k}, kernels::weight_use::linear, 2));
            CROWDIFF_ASSIGN_OR_RETURN(tensor b, weight(be, {n}, kernels::weight_use::other, 3));
            return runner([&be, x, w, b] { return be.linear(x, w, b).to_status(); });
          }};
}

workload conv_workload(std::string name, int64_t n, int64_t c, int64_t o, int64_t size, int64_t kernel) {
  // The reference slice: one image, 4 output rows of 16 columns.
  const int64_t pad = kernel / 2;
  const double full_pixels = static_cast<double>(n * size * size),
               slice_pixels = 4.0 * std::min<int64_t>(16, size);
  return {name,
          "[" + std::to_string(n) + ", " + std::to_string(c) + ", " + std::to_string(size) + ", " +
              std::to_string(size) + "] -> " + std::to_string(o) + ", " + std::to_string(kernel) + "x" +
              std::to_string(kernel),
          2.0 * full_pixels * static_cast<double>(c * o * kernel * kernel) * 1e-9, slice_pixels / full_pixels,
          [=](backend& be, bool slice) -> result<runner> {
            const shape in = slice ? shape{1, c, 4, std::min<int64_t>(16, size)} : shape{n, c, size, size};
            CROWDIFF_ASSIGN_OR_RETURN(tensor x, random_tensor(be, in, 4));
            CROWDIFF_ASSIGN_OR_RETURN(tensor w,
                                      weight(be, {o, c, kernel, kernel}, kernels::weight_use::conv2d, 5));
            CROWDIFF_ASSIGN_OR_RETURN(tensor b, weight(be, {o}, kernels::weight_use::other, 6));
            const auto options = kernels::conv2d_options::symmetric(1, pad);
            return runner([&be, x, w, b, options] { return be.conv2d(x, w, b, options).to_status(); });
          }};
}

workload attention_workload(std::string name, int64_t batch, int64_t heads, int64_t lq, int64_t lk,
                            int64_t d) {
  // The reference slice: 32 query rows of one head.
  const double full = static_cast<double>(batch * heads * lq),
               part = static_cast<double>(std::min<int64_t>(lq, 32));
  return {name,
          "b" + std::to_string(batch) + " h" + std::to_string(heads) + " q" + std::to_string(lq) + " k" +
              std::to_string(lk) + " d" + std::to_string(d),
          4.0 * static_cast<double>(batch * heads * lq * lk * d) * 1e-9, part / full,
          [=](backend& be, bool slice) -> result<runner> {
            const int64_t b = slice ? 1 : batch, h = slice ? 1 : heads,
                          rows = slice ? std::min<int64_t>(lq, 32) : lq;
            CROWDIFF_ASSIGN_OR_RETURN(tensor q, random_tensor(be, {b, rows, h * d}, 7, 2.0f));
            CROWDIFF_ASSIGN_OR_RETURN(tensor k, random_tensor(be, {b, lk, h * d}, 8));
            CROWDIFF_ASSIGN_OR_RETURN(tensor v, random_tensor(be, {b, lk, h * d}, 9));
            return runner([&be, q, k, v, h] { return be.attention(q, k, v, h).to_status(); });
          }};
}

// Memory-bound ops run at full size on every backend.
workload unary_workload(std::string name, const shape& s,
                        std::function<result<tensor>(backend&, const tensor&)> op) {
  return {name, s.to_string(), 0.0, 1.0, [=](backend& be, bool) -> result<runner> {
            CROWDIFF_ASSIGN_OR_RETURN(tensor x, random_tensor(be, s, 10, 3.0f));
            return runner([&be, x, op] { return op(be, x).to_status(); });
          }};
}

}  // namespace

std::vector<workload> sd15_workloads() {
  std::vector<workload> w;
  // Transformer linears at the 64x64 latent (4096 tokens x batch 2) and the text-context projection.
  w.push_back(linear_workload("linear_qkv_64", 8192, 320, 320));
  w.push_back(linear_workload("linear_geglu_in_64", 8192, 320, 2560));
  w.push_back(linear_workload("linear_ff_out_64", 8192, 1280, 320));
  w.push_back(linear_workload("linear_ctx_kv", 154, 768, 320));
  // ResNet convolutions at each UNet level, a 1x1 projection, the VAE decoder's widest.
  w.push_back(conv_workload("conv3x3_64", 2, 320, 320, 64, 3));
  w.push_back(conv_workload("conv3x3_32", 2, 640, 640, 32, 3));
  w.push_back(conv_workload("conv3x3_16", 2, 1280, 1280, 16, 3));
  w.push_back(conv_workload("conv3x3_8", 2, 1280, 1280, 8, 3));
  w.push_back(conv_workload("conv1x1_64", 2, 320, 320, 64, 1));
  w.push_back(conv_workload("vae_conv3x3_256", 1, 256, 256, 256, 3));
  // Attention: self at 64x64 and 32x32, cross with 77 text tokens, the VAE's single 512-wide head.
  w.push_back(attention_workload("attn_self_64", 2, 8, 4096, 4096, 40));
  w.push_back(attention_workload("attn_self_32", 2, 8, 1024, 1024, 80));
  w.push_back(attention_workload("attn_cross_64", 2, 8, 4096, 77, 40));
  w.push_back(attention_workload("attn_vae_64", 1, 1, 4096, 4096, 512));
  // Memory-bound ops.
  w.push_back(unary_workload("group_norm_silu_64", {2, 320, 64, 64}, [](backend& be, const tensor& x) {
    return be.group_norm(x, 32, {}, {}, 1e-5f, true);
  }));
  w.push_back(unary_workload("layer_norm_64", {2, 4096, 320},
                             [](backend& be, const tensor& x) { return be.layer_norm(x, {}, {}, 1e-5f); }));
  w.push_back(
      unary_workload("geglu_64", {2, 4096, 2560}, [](backend& be, const tensor& x) { return be.geglu(x); }));
  w.push_back(
      unary_workload("silu_64", {2, 320, 64, 64}, [](backend& be, const tensor& x) { return be.silu(x); }));
  w.push_back(
      {"add_temb_64", "[2, 320, 64, 64] + [2, 320, 1, 1]", 0.0, 1.0, [](backend& be, bool) -> result<runner> {
         CROWDIFF_ASSIGN_OR_RETURN(tensor x, random_tensor(be, {2, 320, 64, 64}, 11));
         CROWDIFF_ASSIGN_OR_RETURN(tensor temb, random_tensor(be, {2, 320, 1, 1}, 12));
         return runner([&be, x, temb] { return be.add(x, temb).to_status(); });
       }});
  w.push_back(unary_workload("permute_nchw_nhwc_64", {2, 320, 64, 64}, [](backend& be, const tensor& x) {
    return be.permute(x, {0, 2, 3, 1});
  }));
  w.push_back(unary_workload("upsample2x_32", {2, 1280, 32, 32},
                             [](backend& be, const tensor& x) { return be.upsample_nearest(x, 2); }));
  w.push_back(unary_workload("softmax_77", {2 * 8 * 4096, 77},
                             [](backend& be, const tensor& x) { return be.softmax(x); }));
  return w;
}

}  // namespace crowdiff::bench
