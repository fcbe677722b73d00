#include "tiny_models.hpp"

#include <algorithm>
#include <cmath>

#include <boost/test/unit_test.hpp>

#include "kernels/cpu/cpu_backend.hpp"

namespace crowdiff::models::testing {

std::vector<tiny_case> tiny_cases() {
  std::vector<tiny_case> out;
  for (const std::string family : {"sd1", "sd2"}) {
    const auto root = fixtures_dir() / (family + "_tiny");
    tiny_case folder{family, false, root / "diffusers", {}, family + "/diffusers"};
    tiny_case single{family, true, root / (family + "_tiny.safetensors"), {}, family + "/single file"};
    single.options.config_dir = root / "diffusers";
    out.push_back(std::move(folder));
    out.push_back(std::move(single));
  }
  return out;
}

std::filesystem::path reference_dir(const std::string& family) {
  return fixtures_dir() / (family + "_tiny") / "reference";
}

npy_array reference(const std::string& family, const std::string& name) {
  return read_npy(reference_dir(family) / (name + ".npy"));
}

model_weights open_tiny(const tiny_case& c) {
  auto weights = model_weights::open(c.path, c.options);
  BOOST_REQUIRE_MESSAGE(weights, c.label << ": " << weights.to_status().to_string());
  return std::move(*weights);
}

std::unique_ptr<kernels::backend> cpu_f32() {
  auto be = kernels::make_cpu_backend({kernels::cpu_precision::f32, 0});
  BOOST_REQUIRE_MESSAGE(be, be.to_status().to_string());
  return std::move(*be);
}

kernels::tensor host_tensor(const npy_array& array) {
  auto t = kernels::tensor::host(kernels::shape(array.shape), kernels::dtype::f32);
  BOOST_REQUIRE(t);
  BOOST_REQUIRE_EQUAL(static_cast<size_t>(t->numel()), array.f32.size());
  std::copy(array.f32.begin(), array.f32.end(), t->mutable_data_as<float>());
  return *t;
}

kernels::tensor host_ids(const npy_array& array) {
  auto t = kernels::tensor::host(kernels::shape(array.shape), kernels::dtype::i32);
  BOOST_REQUIRE(t);
  // make_fixtures.py saves every reference as float32; token ids (< 2^24) are exact there.
  if (array.ints.empty()) {
    BOOST_REQUIRE_EQUAL(static_cast<size_t>(t->numel()), array.f32.size());
    std::transform(array.f32.begin(), array.f32.end(), t->mutable_data_as<int32_t>(),
                   [](float v) { return static_cast<int32_t>(v); });
  } else {
    BOOST_REQUIRE_EQUAL(static_cast<size_t>(t->numel()), array.ints.size());
    std::transform(array.ints.begin(), array.ints.end(), t->mutable_data_as<int32_t>(),
                   [](int64_t v) { return static_cast<int32_t>(v); });
  }
  return *t;
}

std::vector<float> values(kernels::backend& be, const kernels::tensor& t) {
  auto host = kernels::tensor::host(t.shape(), kernels::dtype::f32);
  BOOST_REQUIRE(host);
  const status st = be.download(t, *host);
  BOOST_REQUIRE_MESSAGE(st, st.to_string());
  return {host->data_as<float>(), host->data_as<float>() + host->numel()};
}

double max_relative_error(const std::vector<float>& ours, const std::vector<float>& reference) {
  BOOST_REQUIRE_EQUAL(ours.size(), reference.size());
  double scale = 0, worst = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    scale = std::max(scale, std::abs(static_cast<double>(reference[i])));
    worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - reference[i]));
  }
  return scale == 0 ? worst : worst / scale;
}

}  // namespace crowdiff::models::testing
