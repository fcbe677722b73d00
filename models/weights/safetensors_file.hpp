#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "models/weights/tensor_view.hpp"

namespace crowdiff::models {

/// Limits applied while parsing a header; the defaults are those of the reference implementation.
struct safetensors_limits {
  size_t max_header_bytes = 100'000'000;
  size_t max_tensors = 1'000'000;
  size_t max_rank = 8;
};

/// A read-only, memory-mapped `.safetensors` file. `open` checks the whole header before anything is
/// exposed: the JSON parses, every entry has a known dtype, a shape whose byte size equals its offset range,
/// and an offset range inside the data section that overlaps no other. Tensors with dtypes crowdiff does not
/// compute in (F64, I8, BOOL, FP8...) are still validated, then only listed in `unsupported()`; looking one
/// up gives errc::unsupported naming it. Move-only; views stay valid across moves.
class safetensors_file {
 public:
  /// Maps and validates `path`. Errors: io_error (cannot open or map), corruption (bad header, offsets or
  /// shapes; the message names the tensor), unsupported (a pickle checkpoint: .ckpt/.pt/.bin/.pth, refused
  /// before reading), resource_exhausted (a limit exceeded).
  static result<safetensors_file> open(const std::filesystem::path& path,
                                       const safetensors_limits& limits = {});

  /// Validates an in-memory file image (the same checks as `open`) and keeps it: pass an rvalue to hand
  /// the bytes over without a copy (a large image made in memory, such as random_weights').
  static result<safetensors_file> parse(std::string bytes, std::string display_name,
                                        const safetensors_limits& limits = {});

  safetensors_file(safetensors_file&&) noexcept;
  safetensors_file& operator=(safetensors_file&&) noexcept;
  ~safetensors_file();

  /// Every usable (F32/F16/BF16/I32/I64/U8) tensor, in data-offset order.
  const std::vector<tensor_view>& tensors() const { return tensors_; }
  /// Names of valid entries whose dtype crowdiff does not load, with that dtype's safetensors name.
  const std::map<std::string, std::string>& unsupported() const { return unsupported_; }
  /// The `__metadata__` string map (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// The path given to `open`, or the display name given to `parse`.
  const std::string& source() const { return source_; }

  /// Drops the mapped pages from this process's resident memory (madvise MADV_DONTNEED); the bytes stay
  /// readable and are read from the file again when touched. For after a load that converted the weights
  /// into memory of their own, so that a checkpoint is not resident twice. Nothing for `parse`d files.
  void release_pages() const;
  /// As release_pages for the whole pages inside [data, data + bytes) when that range lies in this file's
  /// map; false (and nothing done) otherwise.
  bool release_pages(const void* data, size_t bytes) const;

  /// The tensor called `name`: not_found, or unsupported for an entry of an unloadable dtype.
  result<tensor_view> find(std::string_view name) const;
  /// Non-null when a usable tensor called `name` exists.
  const tensor_view* lookup(std::string_view name) const;

 private:
  struct mapping;
  safetensors_file() = default;
  status parse_header(const safetensors_limits& limits);

  std::unique_ptr<mapping> map_;
  std::string source_;
  std::vector<tensor_view> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> unsupported_;
  std::map<std::string, std::string> metadata_;
};

/// True for file names that hold Python pickles (.ckpt, .pt, .pth, .bin), which crowdiff never loads: a
/// pickle can run arbitrary code. The check is by extension, before any byte is read.
bool is_pickle_checkpoint(const std::filesystem::path& path);

}  // namespace crowdiff::models
