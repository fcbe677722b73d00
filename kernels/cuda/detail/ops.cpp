#include "kernels/cuda/detail/ops.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cuda/detail/cuda_check.hpp"
#include "kernels/cuda/detail/launchers.hpp"
#include "kernels/cuda/detail/stream_allocator.hpp"
#include "kernels/status_macros.hpp"

namespace crowdiff::kernels::cuda {

namespace {

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

param_ref param(const tensor& t) {
  return t.defined() ? param_ref{t.data(), t.dtype()} : param_ref{};
}

}  // namespace

status group_norm(const group_norm_params& p, cuda_context& ctx) {
  const int64_t groups = p.n * p.groups, total = p.c / p.groups * p.spatial;
  if (groups == 0 || total == 0)
    return status::ok();
  // Two blocks per multiprocessor in all, each slice at least 2048 elements, at most 64 slices per group.
  const int64_t wanted = (2 * ctx.multiprocessors + groups - 1) / groups;
  const int splits = static_cast<int>(std::clamp<int64_t>(std::min(wanted, total / 2048), 1, 64));
  CROWDIFF_ASSIGN_OR_RETURN(storage_ref stats, ctx.scratch(static_cast<size_t>(groups * splits * 3) * 4));
  group_norm_args a;
  a.x = p.x.data();
  a.out = p.out.mutable_data();
  a.gamma = param(p.gamma);
  a.beta = param(p.beta);
  a.stats = static_cast<float*>(stats->data());
  a.n = p.n;
  a.c = p.c;
  a.groups = p.groups;
  a.spatial = p.spatial;
  a.splits = splits;
  a.eps = p.eps;
  a.silu = p.silu;
  a.vector = p.spatial % 8 == 0 && aligned16(a.x) && aligned16(a.out);
  CROWDIFF_CUDA_CHECK(launch_group_norm(a, ctx.bf16(), ctx.stream));
  return status::ok();
}

status layer_norm(const layer_norm_params& p, cuda_context& ctx) {
  if (p.rows == 0)
    return status::ok();
  layer_norm_args a;
  a.x = p.x.data();
  a.out = p.out.mutable_data();
  a.gamma = param(p.gamma);
  a.beta = param(p.beta);
  a.rows = p.rows;
  a.dim = p.dim;
  a.eps = p.eps;
  a.vector = p.dim % 8 == 0 && aligned16(a.x) && aligned16(a.out);
  CROWDIFF_CUDA_CHECK(launch_layer_norm(a, ctx.bf16(), ctx.stream));
  return status::ok();
}

status softmax(const softmax_params& p, cuda_context& ctx) {
  if (p.rows == 0)
    return status::ok();
  softmax_args a;
  a.x = p.x.data();
  a.out = p.out.mutable_data();
  a.x_type = a.out_type = ctx.act;
  a.rows = p.rows;
  a.cols = p.cols;
  a.x_row_stride = a.out_row_stride = p.cols;
  CROWDIFF_CUDA_CHECK(launch_softmax(a, ctx.stream));
  return status::ok();
}

namespace {

status pointwise(const tensor& x, const tensor& out, int64_t count, pointwise_op op, float alpha, float beta,
                 cuda_context& ctx) {
  if (count == 0)
    return status::ok();
  pointwise_args a{x.data(), out.mutable_data(), count, op, alpha, beta, false};
  a.vector = count % 8 == 0 && aligned16(a.x) && aligned16(a.out);
  CROWDIFF_CUDA_CHECK(launch_pointwise(a, ctx.bf16(), ctx.stream));
  return status::ok();
}

}  // namespace

status activation(const activation_params& p, cuda_context& ctx) {
  pointwise_op op = pointwise_op::silu;
  switch (p.function) {
    case kernels::activation::silu:
      op = pointwise_op::silu;
      break;
    case kernels::activation::gelu:
      op = pointwise_op::gelu;
      break;
    case kernels::activation::gelu_tanh:
      op = pointwise_op::gelu_tanh;
      break;
    case kernels::activation::quick_gelu:
      op = pointwise_op::quick_gelu;
      break;
  }
  return pointwise(p.x, p.out, p.count, op, 1.0f, 0.0f, ctx);
}

status scale(const scale_params& p, cuda_context& ctx) {
  return pointwise(p.x, p.out, p.count, pointwise_op::scale, p.alpha, p.beta, ctx);
}

status geglu(const geglu_params& p, cuda_context& ctx) {
  if (p.rows * p.half == 0)
    return status::ok();
  CROWDIFF_CUDA_CHECK(
      launch_geglu({p.x.data(), p.out.mutable_data(), p.rows, p.half}, ctx.bf16(), ctx.stream));
  return status::ok();
}

status binary(const binary_params& p, cuda_context& ctx) {
  binary_args a;
  a.a = p.a.data();
  a.b = p.b.data();
  a.out = p.out.mutable_data();
  a.mul = p.op == binary_params::kind::mul;
  a.rank = p.rank;
  a.count = 1;
  for (int i = 0; i < p.rank; ++i) {
    a.dims[static_cast<size_t>(i)] = p.dims[static_cast<size_t>(i)];
    a.b_strides[static_cast<size_t>(i)] = p.b_strides[static_cast<size_t>(i)];
    a.count *= p.dims[static_cast<size_t>(i)];
  }
  if (a.count == 0)
    return status::ok();
  const auto last = static_cast<size_t>(p.rank - 1);
  const bool vector = a.dims[last] % 8 == 0 && (a.b_strides[last] == 0 || a.b_strides[last] == 1) &&
                      aligned16(a.a) && aligned16(a.out) && (a.b_strides[last] == 0 || aligned16(a.b));
  CROWDIFF_CUDA_CHECK(launch_binary(a, ctx.bf16(), vector, ctx.stream));
  return status::ok();
}

status upsample(const upsample_params& p, cuda_context& ctx) {
  if (p.planes * p.h * p.w == 0)
    return status::ok();
  CROWDIFF_CUDA_CHECK(
      launch_upsample({p.x.data(), p.out.mutable_data(), p.planes, p.h, p.w, p.factor}, ctx.stream));
  return status::ok();
}

status concat(const concat_params& p, cuda_context& ctx) {
  const size_t es = dtype_size(p.out.dtype());
  const int64_t total = p.outer == 0 ? 0 : p.out.numel() / p.outer;
  auto* out = static_cast<char*>(p.out.mutable_data());
  int64_t offset = 0;
  for (const tensor& t : p.inputs) {
    const int64_t inner = p.outer == 0 ? 0 : t.numel() / p.outer;
    if (inner > 0)
      CROWDIFF_CUDA_CHECK(
          cudaMemcpy2DAsync(out + static_cast<size_t>(offset) * es, static_cast<size_t>(total) * es, t.data(),
                            static_cast<size_t>(inner) * es, static_cast<size_t>(inner) * es,
                            static_cast<size_t>(p.outer), cudaMemcpyDeviceToDevice, ctx.stream));
    offset += inner;
  }
  return status::ok();
}

status slice(const slice_params& p, cuda_context& ctx) {
  const size_t es = dtype_size(p.x.dtype());
  const auto width = static_cast<size_t>(p.length * p.inner) * es;
  if (width == 0 || p.outer == 0)
    return status::ok();
  const auto* x = static_cast<const char*>(p.x.data()) + static_cast<size_t>(p.start * p.inner) * es;
  CROWDIFF_CUDA_CHECK(cudaMemcpy2DAsync(p.out.mutable_data(), width, x,
                                        static_cast<size_t>(p.extent * p.inner) * es, width,
                                        static_cast<size_t>(p.outer), cudaMemcpyDeviceToDevice, ctx.stream));
  return status::ok();
}

status permute(const permute_params& p, cuda_context& ctx) {
  if (p.x.numel() == 0)
    return status::ok();
  // Merge runs of output dimensions that stay neighbours in x, and drop extents of 1: [N, C, H, W] ->
  // [N, H, W, C] becomes the transpose [N, C, HW] -> [N, HW, C].
  struct group {
    int first_axis, last_axis;
    int64_t extent;
  };
  std::vector<int> x_axes;  // x's axes of extent > 1, in x's order
  for (int a = 0; a < p.rank; ++a) {
    if (p.x.size(a) != 1)
      x_axes.push_back(a);
  }
  const auto next_in_x = [&](int axis) {
    const auto it = std::find(x_axes.begin(), x_axes.end(), axis);
    return it == x_axes.end() || it + 1 == x_axes.end() ? -1 : *(it + 1);
  };
  std::vector<group> groups;
  for (int i = 0; i < p.rank; ++i) {
    const int axis = p.perm[static_cast<size_t>(i)];
    if (p.x.size(axis) == 1)
      continue;
    if (!groups.empty() && next_in_x(groups.back().last_axis) == axis) {
      groups.back().last_axis = axis;
      groups.back().extent *= p.x.size(axis);
    } else {
      groups.push_back({axis, axis, p.x.size(axis)});
    }
  }
  // x's strides of the groups: x lays them out in order of their first axis.
  std::vector<int64_t> strides(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    int64_t stride = 1;
    for (const group& other : groups) {
      if (other.first_axis > groups[g].first_axis)
        stride *= other.extent;
    }
    strides[g] = stride;
  }
  const int bytes = static_cast<int>(dtype_size(p.x.dtype()));
  void* out = p.out.mutable_data();
  if (groups.size() <= 1) {  // the order of the elements does not change
    CROWDIFF_CUDA_CHECK(cudaMemcpyAsync(out, p.x.data(), p.x.nbytes(), cudaMemcpyDeviceToDevice, ctx.stream));
    return status::ok();
  }
  // The tiled transpose's grid: column tiles in x, row tiles in y (at most 65535), the batch in z.
  const auto tiles_fit = [](int64_t batch, int64_t rows) {
    return batch <= 65535 && (rows + 31) / 32 <= 65535;
  };
  if (groups.size() == 2 && strides[0] == 1 && tiles_fit(1, groups[1].extent)) {  // [R, C] -> [C, R]
    CROWDIFF_CUDA_CHECK(
        launch_transpose(p.x.data(), out, bytes, 1, groups[1].extent, groups[0].extent, ctx.stream));
    return status::ok();
  }
  if (groups.size() == 3 && strides[1] == 1 && strides[0] == groups[1].extent * groups[2].extent &&
      tiles_fit(groups[0].extent, groups[2].extent)) {
    // [B, R, C] -> [B, C, R]
    CROWDIFF_CUDA_CHECK(launch_transpose(p.x.data(), out, bytes, groups[0].extent, groups[2].extent,
                                         groups[1].extent, ctx.stream));
    return status::ok();
  }
  permute_args a;
  a.x = p.x.data();
  a.out = out;
  a.element_bytes = bytes;
  a.rank = static_cast<int>(groups.size());
  a.count = p.x.numel();
  for (size_t g = 0; g < groups.size(); ++g) {
    a.out_dims[g] = groups[g].extent;
    a.x_strides[g] = strides[g];
  }
  CROWDIFF_CUDA_CHECK(launch_permute(a, ctx.stream));
  return status::ok();
}

status embedding(const embedding_params& p, cuda_context& ctx) {
  if (p.count == 0)
    return status::ok();
  if (ctx.capturing())
    return {errc::failed_precondition,
            "embedding: ids are checked on the host, which a graph capture forbids"};
  const bool i64 = p.ids.dtype() == dtype::i64;
  std::vector<int64_t> ids(static_cast<size_t>(p.count));
  std::vector<int32_t> ids32(i64 ? 0 : static_cast<size_t>(p.count));
  void* host = i64 ? static_cast<void*>(ids.data()) : static_cast<void*>(ids32.data());
  CROWDIFF_CUDA_CHECK(
      cudaMemcpyAsync(host, p.ids.data(), p.ids.nbytes(), cudaMemcpyDeviceToHost, ctx.stream));
  CROWDIFF_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  for (int64_t i = 0; i < p.count; ++i) {
    const int64_t id = i64 ? ids[static_cast<size_t>(i)] : ids32[static_cast<size_t>(i)];
    if (id < 0 || id >= p.vocab)
      return {errc::invalid_argument, "embedding: id " + std::to_string(id) + " outside a table of " +
                                          std::to_string(p.vocab) + " rows"};
  }
  embedding_args a{p.ids.data(),         i64,           p.table.data(), p.table.dtype(),
                   p.out.mutable_data(), p.out.dtype(), p.count,        p.dim};
  CROWDIFF_CUDA_CHECK(launch_embedding(a, ctx.stream));
  return status::ok();
}

status convert(const convert_params& p, cuda_context& ctx) {
  if (p.x.numel() == 0)
    return status::ok();
  if (p.x.dtype() == p.out.dtype()) {
    CROWDIFF_CUDA_CHECK(cudaMemcpyAsync(p.out.mutable_data(), p.x.data(), p.x.nbytes(),
                                        cudaMemcpyDeviceToDevice, ctx.stream));
    return status::ok();
  }
  CROWDIFF_CUDA_CHECK(launch_convert(
      {p.x.data(), p.x.dtype(), p.out.mutable_data(), p.out.dtype(), p.x.numel()}, ctx.stream));
  return status::ok();
}

status copy(const tensor& src, const tensor& dst, cuda_context& ctx) {
  const size_t count = static_cast<size_t>(src.numel());
  if (count == 0)
    return status::ok();
  const bool from_host = src.device().kind == device_kind::cpu;
  const bool to_host = dst.device().kind == device_kind::cpu;
  if (from_host && to_host)
    return {errc::invalid_argument, "copy: both tensors are on the host"};
  const bool same = src.dtype() == dst.dtype();
  if (from_host) {
    if (same) {
      CROWDIFF_CUDA_CHECK(
          cudaMemcpyAsync(dst.mutable_data(), src.data(), src.nbytes(), cudaMemcpyHostToDevice, ctx.stream));
      return status::ok();
    }
    // Upload as it is, convert on the device.
    CROWDIFF_ASSIGN_OR_RETURN(storage_ref staging, ctx.scratch(src.nbytes()));
    CROWDIFF_CUDA_CHECK(
        cudaMemcpyAsync(staging->data(), src.data(), src.nbytes(), cudaMemcpyHostToDevice, ctx.stream));
    CROWDIFF_CUDA_CHECK(launch_convert(
        {staging->data(), src.dtype(), dst.mutable_data(), dst.dtype(), static_cast<int64_t>(count)},
        ctx.stream));
    return status::ok();
  }
  if (!to_host)
    return convert({src, dst}, ctx);
  const void* from = src.data();
  storage_ref staging;
  if (!same) {  // convert on the device, then download
    CROWDIFF_ASSIGN_OR_RETURN(staging, ctx.scratch(dst.nbytes()));
    CROWDIFF_CUDA_CHECK(launch_convert(
        {src.data(), src.dtype(), staging->data(), dst.dtype(), static_cast<int64_t>(count)}, ctx.stream));
    from = staging->data();
  }
  CROWDIFF_CUDA_CHECK(
      cudaMemcpyAsync(dst.mutable_data(), from, dst.nbytes(), cudaMemcpyDeviceToHost, ctx.stream));
  CROWDIFF_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return status::ok();
}

result<tensor> prepare_weight(const tensor& w, cuda_context& ctx) {
  const bool on_device = w.device().kind == device_kind::cuda;
  if (on_device && w.dtype() == ctx.act)
    return w;
  const size_t bytes = static_cast<size_t>(w.numel()) * dtype_size(ctx.act);
  storage_ref block = device_storage::allocate(bytes, ctx.ordinal);
  if (!block)
    return status{errc::resource_exhausted, "out of cuda:" + std::to_string(ctx.ordinal) +
                                                " memory for a weight of " + std::to_string(bytes) +
                                                " bytes"};
  tensor out = tensor::over(std::move(block), 0, w.shape(), ctx.act);
  if (on_device) {
    CROWDIFF_RETURN_IF_ERROR(convert({w, out}, ctx));
  } else if (w.dtype() == ctx.act) {
    CROWDIFF_CUDA_CHECK(
        cudaMemcpyAsync(out.mutable_data(), w.data(), bytes, cudaMemcpyHostToDevice, ctx.stream));
  } else {
    // Upload and convert in pieces, so that a large weight needs little scratch memory.
    constexpr int64_t piece = int64_t{8} << 20;
    const size_t in_size = dtype_size(w.dtype()), out_size = dtype_size(ctx.act);
    CROWDIFF_ASSIGN_OR_RETURN(storage_ref staging,
                              ctx.scratch(static_cast<size_t>(std::min(piece, w.numel())) * in_size));
    for (int64_t start = 0; start < w.numel(); start += piece) {
      const int64_t n = std::min(piece, w.numel() - start);
      CROWDIFF_CUDA_CHECK(cudaMemcpyAsync(
          staging->data(), static_cast<const char*>(w.data()) + static_cast<size_t>(start) * in_size,
          static_cast<size_t>(n) * in_size, cudaMemcpyHostToDevice, ctx.stream));
      CROWDIFF_CUDA_CHECK(launch_convert(
          {staging->data(), w.dtype(),
           static_cast<char*>(out.mutable_data()) + static_cast<size_t>(start) * out_size, ctx.act, n},
          ctx.stream));
    }
  }
  // The weight's memory is not stream-ordered: make it complete before anyone else may use it.
  CROWDIFF_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
  return out;
}

}  // namespace crowdiff::kernels::cuda
