#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "kernels/backend.hpp"
#include "models/pipeline/stable_diffusion.hpp"
#include "models/weights/model_hash.hpp"

namespace crowdiff::models {

/// A model the cache knows, loaded or not.
struct cached_model_info {
  std::string name;
  std::string sha256;
  std::filesystem::path path;
  bool loaded = false;
  size_t bytes = 0;      ///< Held weights when loaded, the estimate otherwise.
  uint32_t load_ms = 0;  ///< The last load's duration, or an estimate before the first.
};

/// Named models on one backend, kept loaded between jobs: a model is loaded on first use and stays until
/// loading another would exceed the memory budget, which then unloads the least recently used ones.
/// Models are identified by the SHA-256 of their weights (model_identity), computed when they are added and
/// remembered across runs in a hash cache file. Thread-safe; models handed out stay valid while held, even
/// if the cache unloads them meanwhile.
class model_cache {
 public:
  /// `budget_bytes` bounds the weights held at once. `hash_cache_file` may be empty (no digest cache).
  model_cache(kernels::backend& be, size_t budget_bytes, std::filesystem::path hash_cache_file);

  /// Registers `path` as `name`: opens it (a cheap memory map: the weights are validated and the
  /// configuration detected) and computes its identity. Errors: invalid_argument for an empty name,
  /// already_exists for a name in use, those of model_weights::open (not_found, unsupported, corruption) and
  /// io_error while hashing, resource_exhausted when the model alone would exceed the budget.
  status add(const std::string& name, const std::filesystem::path& path,
             const model_load_options& options = {});

  /// Every registered model, in the order added.
  std::vector<cached_model_info> list() const;

  /// The model `name` loaded, loading it first (and unloading least recently used models to make room) if
  /// needed. Errors: not_found for a name never added, and those of stable_diffusion::load.
  result<std::shared_ptr<const stable_diffusion>> acquire(std::string_view name);
  /// The identity of a registered model. Errors: not_found.
  result<cached_model_info> info(std::string_view name) const;

  /// Unloads every model (held ones are freed when released).
  void clear();
  size_t budget_bytes() const;
  /// Changes the budget; takes effect at the next load.
  void set_budget_bytes(size_t bytes);
  size_t loaded_bytes() const;

 private:
  struct entry {
    cached_model_info info;
    model_load_options options;
    std::shared_ptr<const stable_diffusion> model;
    uint64_t last_used = 0;
  };
  entry* find(std::string_view name);
  const entry* find(std::string_view name) const;
  void make_room(size_t bytes, const entry* keep);

  kernels::backend& backend_;
  size_t budget_;
  file_hash_cache hashes_;
  mutable std::mutex mutex_;
  std::vector<entry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace crowdiff::models
