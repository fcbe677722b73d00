#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "models/weights/model_config.hpp"
#include "models/weights/safetensors_file.hpp"
#include "models/weights/tensor_view.hpp"

namespace crowdiff::models {

/// The two layouts Stable Diffusion weights come in. Persisted in caches: never renumber.
enum class checkpoint_format : uint8_t {
  diffusers_folder = 0,  ///< model_index.json, unet/, vae/, text_encoder/, tokenizer/ ...
  single_file = 1,       ///< One .safetensors with the original CompVis/Stability key names.
};

struct load_options {
  /// Overrides the prediction type. A single file cannot tell (SD 2.x 768-v is v-prediction, 512-base is
  /// epsilon), so without this it is epsilon unless `config_dir` says otherwise or, as A1111 reads it, a
  /// YAML file beside it (`model.yaml` for `model.safetensors`) says `parameterization: "v"`.
  std::optional<prediction_type> prediction;
  /// For single files: a diffusers-style folder whose */config.json files refine the detected config (head
  /// counts, scaling factor, scheduler). Ignored when empty.
  std::filesystem::path config_dir;
  safetensors_limits limits;
};

/// The weights of one Stable Diffusion model under canonical names (see key_mapping.hpp), whatever layout
/// they came in, with the configuration detected from them. Owns the memory maps: every view it hands out
/// lives as long as it does. Move-only.
class model_weights {
 public:
  /// Opens a diffusers folder (a directory) or a single-file checkpoint. Errors: those of
  /// safetensors_file::open (pickles are refused), not_found for a folder without the UNet, VAE or text
  /// encoder weights, corruption when tensors the architecture needs are missing, unsupported for other
  /// architectures (SDXL and later).
  static result<model_weights> open(const std::filesystem::path& path, const load_options& options = {});

  /// Weights held in memory rather than mapped from disk: `file` (safetensors_file::parse) whose tensors
  /// already have canonical names, with a configuration the caller states instead of one detected from the
  /// shapes, so that the file may hold a single component (random_weights makes such files for
  /// benchmarks). Nothing is validated against `config` here: the blocks check every shape as they load.
  /// root() and files() are the file's display name.
  static model_weights from_memory(safetensors_file file, const model_config& config);

  const model_config& config() const { return config_; }
  checkpoint_format format() const { return format_; }
  /// The path given to `open`.
  const std::filesystem::path& root() const { return root_; }
  /// The weight files read, in a fixed order (for hashing).
  std::vector<std::filesystem::path> files() const;
  /// The folder holding vocab.json and merges.txt, for diffusers folders that have one.
  const std::optional<std::filesystem::path>& tokenizer_dir() const { return tokenizer_dir_; }

  /// The tensor with canonical name `name`. Errors: not_found naming it.
  result<tensor_view> get(std::string_view name) const;
  /// As `get`, and the shape must equal `expected`. Errors: not_found, or corruption naming the tensor and
  /// both shapes.
  result<tensor_view> get(std::string_view name, std::initializer_list<int64_t> expected) const;
  result<tensor_view> get(std::string_view name, const std::vector<int64_t>& expected) const;
  bool contains(std::string_view name) const { return tensors_.find(name) != tensors_.end(); }
  /// Releases the resident pages of every mapped file (safetensors_file::release_pages); views stay valid.
  void release_pages() const {
    for (const auto& file : files_)
      file.release_pages();
  }
  /// Releases the resident pages under one view (see safetensors_file::release_pages): for a loader that
  /// has copied the tensor into memory of its own. Views stay valid.
  void release_pages(const tensor_view& view) const {
    for (const auto& file : files_)
      if (file.release_pages(view.data, view.bytes))
        return;
  }
  /// Canonical names, sorted; only those starting with `prefix` when given.
  std::vector<std::string> names(std::string_view prefix = {}) const;

  model_weights(model_weights&&) noexcept = default;
  model_weights& operator=(model_weights&&) noexcept = default;

 private:
  model_weights() = default;
  status add_diffusers_component(const std::filesystem::path& folder, std::string_view prefix,
                                 std::string_view file_stem, const load_options& options);
  status add_single_file(const std::filesystem::path& path, const load_options& options, bool* open_clip);
  status finish(bool open_clip, const std::filesystem::path& config_dir, const load_options& options);

  checkpoint_format format_ = checkpoint_format::single_file;
  std::filesystem::path root_;
  std::optional<std::filesystem::path> tokenizer_dir_;
  std::vector<safetensors_file> files_;
  std::map<std::string, tensor_view, std::less<>> tensors_;
  model_config config_;
};

}  // namespace crowdiff::models
