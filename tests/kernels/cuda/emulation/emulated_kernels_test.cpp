// The normalization, elementwise and data movement kernels run by the host emulation, against the reference
// backend, in f16 and bf16, on both the 16-byte (vector) and the one-element paths.

#include <boost/test/unit_test.hpp>

#include "cuda_test_util.hpp"
#include "emulation/emulator.hpp"
#include "kernels/cuda/detail/attention/flash_switch.hpp"
#include "kernels/cuda/detail/layout_kernels.cuh"
#include "kernels/cuda/detail/norm_kernels.cuh"
#include "kernels/cuda/detail/pointwise_kernels.cuh"

namespace crowdiff::kernels::cuda::test {
namespace {

tensor empty_like(const shape& s, dtype t) {
  return unwrap(tensor::host(s, t), "host tensor");
}

void group_norm_case(dtype t, const shape& s, int64_t groups, int splits, bool affine, bool silu,
                     uint64_t seed) {
  tensor x16, beta16;
  const tensor x = random_in(t, s, seed, x16, -2.0f, 3.0f);
  const tensor gamma = random_f32({s[1]}, seed + 1, 0.5f, 1.5f);  // f32 parameters
  const tensor beta = random_in(t, {s[1]}, seed + 2, beta16);     // parameters already in t
  const tensor expected = unwrap(
      reference().group_norm(x, groups, affine ? gamma : tensor{}, affine ? beta : tensor{}, 1e-5f, silu),
      "reference group_norm");
  tensor out = empty_like(s, t);
  group_norm_args a;
  a.x = x16.data();
  a.out = out.mutable_data();
  if (affine) {
    a.gamma = {gamma.data(), dtype::f32};
    a.beta = {beta16.data(), t};
  }
  a.n = s[0];
  a.c = s[1];
  a.groups = groups;
  a.spatial = s.numel(2, s.rank());
  a.splits = splits;
  a.silu = silu;
  a.vector = a.spatial % 8 == 0;
  std::vector<float> stats(static_cast<size_t>(a.n * groups * splits * 3));
  a.stats = stats.data();
  switch_half_type(t == dtype::bf16, [&]<class T>() {
    if (a.vector) {
      emu::launch(group_norm_dims(a), [&] { group_norm_stats_kernel<T, 8>(a); });
      emu::launch(group_norm_dims(a), [&] { group_norm_apply_kernel<T, 8>(a); });
    } else {
      emu::launch(group_norm_dims(a), [&] { group_norm_stats_kernel<T, 1>(a); });
      emu::launch(group_norm_dims(a), [&] { group_norm_apply_kernel<T, 1>(a); });
    }
  });
  check_pointwise(out, expected, t,
                  "group_norm " + s.to_string() + " groups " + std::to_string(groups) + " splits " +
                      std::to_string(splits) + (silu ? " silu" : ""));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(emulated_kernels)

BOOST_AUTO_TEST_CASE(group_norm_with_silu_and_split_statistics) {
  for (const dtype t : half_types) {
    group_norm_case(t, {2, 64, 7, 9}, 32, 1, true, true, 10);    // one-element path (63 positions)
    group_norm_case(t, {1, 32, 16, 16}, 8, 3, true, false, 20);  // 16-byte path, three slices merged
    group_norm_case(t, {2, 12, 5, 8}, 3, 2, false, true, 30);
  }
}

BOOST_AUTO_TEST_CASE(layer_norm_rows) {
  for (const dtype t : half_types) {
    for (const auto& [rows, dim, affine] :
         {std::tuple{77, int64_t{40}, true}, std::tuple{5, int64_t{33}, true},
          std::tuple{9, int64_t{1280}, false}}) {
      tensor x16;
      const tensor x = random_in(t, {rows, dim}, 40 + static_cast<uint64_t>(dim), x16, -3.0f, 2.0f);
      const tensor gamma = random_f32({dim}, 41, 0.5f, 1.5f), beta = random_f32({dim}, 42);
      const tensor expected = unwrap(
          reference().layer_norm(x, affine ? gamma : tensor{}, affine ? beta : tensor{}, 1e-5f), "reference");
      tensor out = empty_like({rows, dim}, t);
      layer_norm_args a;
      a.x = x16.data();
      a.out = out.mutable_data();
      if (affine) {
        a.gamma = {gamma.data(), dtype::f32};
        a.beta = {beta.data(), dtype::f32};
      }
      a.rows = rows;
      a.dim = dim;
      a.vector = dim % 8 == 0;
      switch_half_type(t == dtype::bf16, [&]<class T>() {
        emu::launch(row_dims(rows), [&] {
          if (a.vector)
            layer_norm_kernel<T, 8>(a);
          else
            layer_norm_kernel<T, 1>(a);
        });
      });
      check_pointwise(out, expected, t, "layer_norm " + std::to_string(rows) + "x" + std::to_string(dim));
    }
  }
}

BOOST_AUTO_TEST_CASE(softmax_rows) {
  for (const dtype t : half_types) {
    tensor x16;
    const tensor x = random_in(t, {7, 77}, 50, x16, -6.0f, 6.0f);
    const tensor expected = unwrap(reference().softmax(x), "reference softmax");
    tensor out = empty_like({7, 77}, t);
    softmax_args a;
    a.x = x16.data();
    a.out = out.mutable_data();
    a.x_type = a.out_type = t;
    a.rows = 7;
    a.cols = 77;
    a.x_row_stride = a.out_row_stride = 77;
    emu::launch(row_dims(a.rows), [&] { softmax_kernel(a); });
    check_pointwise(out, expected, t, "softmax 7x77");

    // f32 scores in, causal: row r of head h sees keys up to r + query0.
    const tensor scores = random_f32({2 * 5, 9}, 51, -4.0f, 4.0f);
    a.x = scores.data();
    a.x_type = dtype::f32;
    a.rows = 10;
    a.cols = 9;
    a.x_row_stride = a.out_row_stride = 9;
    a.causal = true;
    a.rows_per_head = 5;
    a.query0 = 2;
    a.scale = 0.5f;
    tensor causal_out = empty_like({10, 9}, t);
    a.out = causal_out.mutable_data();
    emu::launch(row_dims(a.rows), [&] { softmax_kernel(a); });
    tensor masked = unwrap(tensor::host({10, 9}, dtype::f32), "masked");
    for (int64_t r = 0; r < 10; ++r) {
      for (int64_t j = 0; j < 9; ++j)
        masked.mutable_data_as<float>()[r * 9 + j] =
            j <= r % 5 + 2 ? 0.5f * scores.data_as<float>()[r * 9 + j] : -1e30f;
    }
    check_pointwise(causal_out, unwrap(reference().softmax(masked), "reference"), t, "causal softmax");
  }
}

BOOST_AUTO_TEST_CASE(activations_scale_and_geglu) {
  const std::pair<pointwise_op, activation> ops[] = {{pointwise_op::silu, activation::silu},
                                                     {pointwise_op::gelu, activation::gelu},
                                                     {pointwise_op::gelu_tanh, activation::gelu_tanh},
                                                     {pointwise_op::quick_gelu, activation::quick_gelu}};
  for (const dtype t : half_types) {
    for (const int64_t count : {int64_t{1000}, int64_t{997}}) {
      tensor x16;
      const tensor x = random_in(t, {count}, 60 + static_cast<uint64_t>(count), x16, -4.0f, 4.0f);
      for (const auto& [op, act] : ops) {
        tensor out = empty_like({count}, t);
        const pointwise_args a{x16.data(), out.mutable_data(), count, op, 1.0f, 0.0f, count % 8 == 0};
        switch_half_type(t == dtype::bf16, [&]<class T>() {
          emu::launch(pointwise_dims(a.vector ? count / 8 : count), [&] { pointwise_kernel<T>(a); });
        });
        check_pointwise(out, unwrap(reference().activate(x, act), "reference"), t,
                        std::string(to_string(act)) + " of " + std::to_string(count));
      }
      tensor out = empty_like({count}, t);
      const pointwise_args a{x16.data(), out.mutable_data(), count, pointwise_op::scale, 0.18215f, -0.5f,
                             false};
      switch_half_type(t == dtype::bf16, [&]<class T>() {
        emu::launch(pointwise_dims(count), [&] { pointwise_kernel<T>(a); });
      });
      check_pointwise(out, unwrap(reference().scale(x, 0.18215f, -0.5f), "reference"), t, "scale");
    }
    tensor x16;
    const tensor x = random_in(t, {3, 5, 2 * 40}, 70, x16, -3.0f, 3.0f);
    tensor out = empty_like({3, 5, 40}, t);
    const geglu_args g{x16.data(), out.mutable_data(), 15, 40};
    switch_half_type(t == dtype::bf16,
                     [&]<class T>() { emu::launch(pointwise_dims(15 * 40), [&] { geglu_kernel<T>(g); }); });
    check_pointwise(out, unwrap(reference().geglu(x), "reference"), t, "geglu");
  }
}

BOOST_AUTO_TEST_CASE(broadcasting_add_and_mul) {
  struct broadcast_case {
    shape a, b;
    int rank;
    std::array<int64_t, 6> dims, strides;
    bool mul, vector;
  };
  // The collapsed forms are what backend::add builds (kernels/backend.cpp).
  const broadcast_case cases[] = {
      {{2, 3, 4, 8}, {2, 3, 1, 1}, 2, {6, 32}, {1, 0}, false, true},  // time embedding over H x W
      {{2, 5, 16}, {16}, 2, {10, 16}, {0, 1}, false, true},           // a bias over the last dimension
      {{5, 7}, {5, 7}, 1, {35}, {1}, true, false},                    // same shape, odd count
      {{3, 4, 5}, {4, 1}, 3, {3, 4, 5}, {0, 1, 0}, true, false},      // a middle-dimension broadcast
  };
  for (const dtype t : half_types) {
    uint64_t seed = 80;
    for (const broadcast_case& c : cases) {
      tensor a16, b16;
      const tensor a = random_in(t, c.a, seed++, a16, -2.0f, 2.0f);
      const tensor b = random_in(t, c.b, seed++, b16, -2.0f, 2.0f);
      tensor out = empty_like(c.a, t);
      binary_args args;
      args.a = a16.data();
      args.b = b16.data();
      args.out = out.mutable_data();
      args.mul = c.mul;
      args.rank = c.rank;
      args.dims = c.dims;
      args.b_strides = c.strides;
      args.count = c.a.numel();
      switch_half_type(t == dtype::bf16, [&]<class T>() {
        emu::launch(pointwise_dims(c.vector ? args.count / 8 : args.count), [&] {
          if (c.vector)
            binary_kernel<T, 8>(args);
          else
            binary_kernel<T, 1>(args);
        });
      });
      const tensor expected = unwrap(c.mul ? reference().mul(a, b) : reference().add(a, b), "reference");
      check_pointwise(out, expected, t,
                      (c.mul ? "mul " : "add ") + c.a.to_string() + " by " + c.b.to_string());
    }
  }
}

BOOST_AUTO_TEST_CASE(bias_epilogue) {
  for (const dtype t : half_types) {
    tensor y16;
    const tensor y = random_in(t, {2, 5, 3, 3}, 90, y16);
    const tensor bias = random_f32({5}, 91);
    bias_args a{y16.mutable_data(), {bias.data(), dtype::f32}, 2, 5, 9};
    switch_half_type(t == dtype::bf16,
                     [&]<class T>() { emu::launch(pointwise_dims(90), [&] { bias_kernel<T>(a); }); });
    const tensor expected =
        unwrap(reference().add(y, unwrap(bias.reshape({1, 5, 1, 1}), "reshape")), "reference");
    check_pointwise(y16, expected, t, "bias");
  }
}

BOOST_AUTO_TEST_CASE(transpose_and_permute_are_exact) {
  const tensor x = converted(random_f32({2, 33, 47}, 100), dtype::f16);
  tensor out = empty_like({2, 47, 33}, dtype::f16);
  emu::launch(transpose_dims(2, 33, 47), [&] {
    transpose_kernel<uint16_t>(x.data_as<uint16_t>(), out.mutable_data_as<uint16_t>(), 33, 47);
  });
  const tensor x32 = converted(x, dtype::f32);
  check_exact(out, converted(unwrap(reference().permute(x32, {0, 2, 1}), "reference"), dtype::f16),
              "transpose");

  // [2, 3, 4, 5] -> perm {3, 1, 0, 2}: out dims [5, 3, 2, 4], x strides [1, 20, 60, 5].
  const tensor y = converted(random_f32({2, 3, 4, 5}, 101), dtype::bf16);
  tensor permuted = empty_like({5, 3, 2, 4}, dtype::bf16);
  permute_args a;
  a.x = y.data();
  a.out = permuted.mutable_data();
  a.element_bytes = 2;
  a.rank = 4;
  a.out_dims = {5, 3, 2, 4};
  a.x_strides = {1, 20, 60, 5};
  a.count = 120;
  emu::launch(pointwise_dims(a.count), [&] { permute_kernel<uint16_t>(a); });
  check_exact(permuted,
              converted(unwrap(reference().permute(converted(y, dtype::f32), {3, 1, 0, 2}), "reference"),
                        dtype::bf16),
              "permute");
}

BOOST_AUTO_TEST_CASE(upsample_pad_embedding_convert) {
  const tensor x = converted(random_f32({2, 3, 5, 7}, 110), dtype::f16);
  tensor up = empty_like({2, 3, 10, 14}, dtype::f16);
  const upsample_args u{x.data(), up.mutable_data(), 6, 5, 7, 2};
  emu::launch(pointwise_dims(6 * 10 * 14), [&] { upsample_kernel(u); });
  check_exact(
      up,
      converted(unwrap(reference().upsample_nearest(converted(x, dtype::f32), 2), "reference"), dtype::f16),
      "upsample");

  tensor padded = empty_like({2, 3, 6, 8}, dtype::f16);
  const pad_args pa{x.data(), padded.mutable_data(), 6, 5, 7, 0, 1, 0, 1};
  emu::launch(pointwise_dims(6 * 6 * 8), [&] { pad_kernel(pa); });
  bool exact = true;
  for (int64_t p = 0; p < 6; ++p) {
    for (int64_t r = 0; r < 6; ++r) {
      for (int64_t c = 0; c < 8; ++c) {
        const uint16_t want = r < 5 && c < 7 ? x.data_as<uint16_t>()[(p * 5 + r) * 7 + c] : uint16_t{0};
        exact = exact && padded.data_as<uint16_t>()[(p * 6 + r) * 8 + c] == want;
      }
    }
  }
  BOOST_TEST(exact, "pad (0, 1, 0, 1)");

  const tensor table = random_f32({11, 24}, 111);
  tensor ids = unwrap(tensor::host({2, 3}, dtype::i64), "ids");
  const int64_t id_values[] = {0, 10, 3, 3, 7, 1};
  for (int i = 0; i < 6; ++i)
    ids.mutable_data_as<int64_t>()[i] = id_values[i];
  for (const dtype t : half_types) {
    tensor out = empty_like({2, 3, 24}, t);
    const embedding_args e{ids.data(), true, table.data(), dtype::f32, out.mutable_data(), t, 6, 24};
    emu::launch(pointwise_dims(6 * 24), [&] { embedding_kernel(e); });
    check_exact(out, converted(unwrap(reference().embedding(ids, table), "reference"), t), "embedding");

    tensor narrowed = empty_like({11, 24}, t);
    const convert_args c{table.data(), dtype::f32, narrowed.mutable_data(), t, 11 * 24};
    emu::launch(pointwise_dims(11 * 24), [&] { convert_kernel(c); });
    check_exact(narrowed, converted(table, t), "convert f32 to " + std::string(to_string(t)));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace crowdiff::kernels::cuda::test
