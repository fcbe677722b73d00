#include "models/pipeline/model_cache.hpp"

#include <algorithm>
#include <chrono>

namespace crowdiff::models {

namespace {

// Before a model's first load its load time is guessed from its size: reading and converting weights runs
// at roughly this rate on a CPU (measured ~0.5-1 GB/s for an f16 checkpoint into bf16).
constexpr double estimated_load_bytes_per_ms = 500e3;

}  // namespace

model_cache::model_cache(kernels::backend& be, size_t budget_bytes, std::filesystem::path hash_cache_file)
    : backend_(be), budget_(budget_bytes), hashes_(std::move(hash_cache_file)) {}

model_cache::entry* model_cache::find(std::string_view name) {
  for (entry& e : entries_)
    if (e.info.name == name)
      return &e;
  return nullptr;
}

const model_cache::entry* model_cache::find(std::string_view name) const {
  for (const entry& e : entries_)
    if (e.info.name == name)
      return &e;
  return nullptr;
}

status model_cache::add(const std::string& name, const std::filesystem::path& path,
                        const model_load_options& options) {
  if (name.empty())
    return status{errc::invalid_argument, "a model needs a name"};
  {
    std::lock_guard lock(mutex_);
    if (find(name) != nullptr)
      return status{errc::already_exists, "a model named " + name + " is already registered"};
  }
  auto weights = model_weights::open(path, options.weights);
  if (!weights)
    return weights.error();
  const size_t bytes = estimated_weight_bytes(*weights, backend_.compute_dtype());
  std::lock_guard lock(mutex_);
  if (bytes > budget_)
    return status{errc::resource_exhausted,
                  path.string() + ": its weights need about " + std::to_string(bytes >> 20) +
                      " MiB, over the memory budget of " + std::to_string(budget_ >> 20) + " MiB"};
  auto sha = model_identity(*weights, &hashes_);
  if (!sha)
    return sha.error();
  if (find(name) != nullptr)
    return status{errc::already_exists, "a model named " + name + " is already registered"};
  entry e;
  e.info.name = name;
  e.info.sha256 = std::move(*sha);
  e.info.path = path;
  e.info.bytes = bytes;
  e.info.load_ms = static_cast<uint32_t>(static_cast<double>(bytes) / estimated_load_bytes_per_ms);
  e.options = options;
  entries_.push_back(std::move(e));
  return status::ok();
}

std::vector<cached_model_info> model_cache::list() const {
  std::lock_guard lock(mutex_);
  std::vector<cached_model_info> out;
  for (const entry& e : entries_) {
    out.push_back(e.info);
    out.back().loaded = e.model != nullptr;
  }
  return out;
}

result<cached_model_info> model_cache::info(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const entry* e = find(name);
  if (e == nullptr)
    return status{errc::not_found, "no model named " + std::string(name)};
  cached_model_info out = e->info;
  out.loaded = e->model != nullptr;
  return out;
}

void model_cache::make_room(size_t bytes, const entry* keep) {
  for (;;) {
    size_t held = 0;
    entry* oldest = nullptr;
    for (entry& e : entries_) {
      if (!e.model)
        continue;
      held += e.info.bytes;
      if (&e != keep && (oldest == nullptr || e.last_used < oldest->last_used))
        oldest = &e;
    }
    if (held + bytes <= budget_ || oldest == nullptr)
      return;
    oldest->model.reset();
  }
}

result<std::shared_ptr<const stable_diffusion>> model_cache::acquire(std::string_view name) {
  std::lock_guard lock(mutex_);
  entry* e = find(name);
  if (e == nullptr)
    return status{errc::not_found, "no model named " + std::string(name)};
  e->last_used = ++clock_;
  if (e->model)
    return e->model;
  make_room(e->info.bytes, e);
  const auto start = std::chrono::steady_clock::now();
  auto loaded = stable_diffusion::load(e->info.path, backend_, e->options);
  if (!loaded)
    return loaded.error();
  e->info.load_ms = static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
          .count());
  e->info.bytes = (*loaded)->weight_bytes();
  e->model = std::shared_ptr<const stable_diffusion>(std::move(*loaded));
  return e->model;
}

void model_cache::clear() {
  std::lock_guard lock(mutex_);
  for (entry& e : entries_)
    e.model.reset();
}

size_t model_cache::budget_bytes() const {
  std::lock_guard lock(mutex_);
  return budget_;
}

void model_cache::set_budget_bytes(size_t bytes) {
  std::lock_guard lock(mutex_);
  budget_ = bytes;
}

size_t model_cache::loaded_bytes() const {
  std::lock_guard lock(mutex_);
  size_t held = 0;
  for (const entry& e : entries_)
    if (e.model)
      held += e.info.bytes;
  return held;
}

}  // namespace crowdiff::models
