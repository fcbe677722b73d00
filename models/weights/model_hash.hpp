#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "common/status.hpp"

namespace crowdiff::models {

class model_weights;

/// SHA-256 of a file's bytes as 64 lowercase hex digits, read in 1 MiB blocks (a multi-GB checkpoint never
/// sits in memory). Errors: io_error.
result<std::string> sha256_file(const std::filesystem::path& path);

/// Remembers file digests across runs in one small JSON file, keyed by absolute path, size and modification
/// time: hashing a 2-7 GB checkpoint takes seconds to minutes, so a worker does it once per file version.
/// A missing or unreadable cache file is treated as empty; it is rewritten atomically (write, then rename).
class file_hash_cache {
 public:
  explicit file_hash_cache(std::filesystem::path cache_file);

  /// The file's SHA-256, from the cache when path, size and mtime match, otherwise computed and stored.
  /// Errors: io_error for the weight file; a cache that cannot be written is not an error (the digest is
  /// still returned, just not remembered).
  result<std::string> sha256(const std::filesystem::path& file);

 private:
  struct entry {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    std::string sha256;
  };
  void load();
  void save() const;

  std::filesystem::path cache_file_;
  std::map<std::string, entry> entries_;
  bool loaded_ = false;
};

/// The identity of a model: for a single file its SHA-256; for a diffusers folder the SHA-256 of the lines
/// "<relative path> <file sha256>\n" over its weight files in a fixed order, so it changes when any weight
/// file does. `cache` may be null.
result<std::string> model_identity(const model_weights& weights, file_hash_cache* cache);

}  // namespace crowdiff::models
