#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "kernels/backend.hpp"
#include "models/weights/model_weights.hpp"

// The tiny SD1/SD2 fixture models in both layouts, and comparisons against their reference outputs, for the
// block and pipeline tests.
namespace crowdiff::models::testing {

struct tiny_case {
  std::string family;  ///< "sd1" or "sd2"
  bool single_file = false;
  std::filesystem::path path;
  load_options options;
  std::string label;  ///< "sd1/diffusers", "sd2/single file" ...
};

/// sd1 and sd2, each as a diffusers folder and as a single file (refined by the folder's config files: the
/// tiny models' head counts are not the SD defaults).
std::vector<tiny_case> tiny_cases();

/// tests/fixtures/<family>_tiny/reference.
std::filesystem::path reference_dir(const std::string& family);
/// A reference array of the family.
npy_array reference(const std::string& family, const std::string& name);

/// Opens a case's weights; fails the test on error.
model_weights open_tiny(const tiny_case& c);

/// The CPU backend in f32 (the precision the golden tests hold to).
std::unique_ptr<kernels::backend> cpu_f32();

/// A host f32 tensor holding a reference array.
kernels::tensor host_tensor(const npy_array& array);
/// A host i32 tensor holding a reference array of ids.
kernels::tensor host_ids(const npy_array& array);

/// The output's values, downloaded from its backend.
std::vector<float> values(kernels::backend& be, const kernels::tensor& t);

/// max |a - b| / max |b|: the error relative to the reference's scale, the bound the golden tests use.
double max_relative_error(const std::vector<float>& ours, const std::vector<float>& reference);

}  // namespace crowdiff::models::testing
