#include "models/weights/model_hash.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include <sodium.h>

#include "models/weights/model_weights.hpp"

namespace crowdiff::models {
namespace {

namespace fs = std::filesystem;

std::string to_hex(const unsigned char* digest, size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 15];
  }
  return out;
}

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

result<std::string> sha256_file(const fs::path& path) {
  if (sodium_init() < 0)
    return status{errc::internal, "libsodium failed to initialise"};
  std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
  if (!file)
    return status{errc::io_error, path.string() + ": " + std::strerror(errno)};
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<unsigned char> block(1 << 20);
  size_t got = 0;
  while ((got = std::fread(block.data(), 1, block.size(), file.get())) > 0)
    crypto_hash_sha256_update(&state, block.data(), got);
  if (std::ferror(file.get()))
    return status{errc::io_error, path.string() + ": read failed"};
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return to_hex(digest, sizeof digest);
}

file_hash_cache::file_hash_cache(fs::path cache_file) : cache_file_(std::move(cache_file)) {}

void file_hash_cache::load() {
  loaded_ = true;
  if (cache_file_.empty())
    return;  // no cache file: digests are kept for this process only
  std::ifstream in(cache_file_, std::ios::binary);
  if (!in)
    return;
  std::ostringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return;  // a damaged cache only costs a re-hash
  for (const auto& [path, value] : j.items()) {
    if (!value.is_object() || !value.contains("size") || !value.contains("mtime_ns") ||
        !value.contains("sha256"))
      continue;
    const auto& size = value["size"];
    const auto& mtime = value["mtime_ns"];
    const auto& digest = value["sha256"];
    if (size.is_number_unsigned() && mtime.is_number_integer() && digest.is_string() &&
        digest.get<std::string>().size() == 64)
      entries_[path] = entry{size.get<uint64_t>(), mtime.get<int64_t>(), digest.get<std::string>()};
  }
}

void file_hash_cache::save() const {
  if (cache_file_.empty())
    return;
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [path, e] : entries_)
    j[path] = {{"size", e.size}, {"mtime_ns", e.mtime_ns}, {"sha256", e.sha256}};
  const fs::path temp = cache_file_.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out)
      return;
    out << j.dump(1) << '\n';
    if (!out)
      return;
  }
  std::error_code ec;
  fs::rename(temp, cache_file_, ec);
}

result<std::string> file_hash_cache::sha256(const fs::path& file) {
  if (!loaded_)
    load();
  std::error_code ec;
  const fs::path absolute = fs::absolute(file, ec);
  const uint64_t size = fs::file_size(file, ec);
  if (ec)
    return status{errc::io_error, file.string() + ": " + ec.message()};
  const auto mtime = fs::last_write_time(file, ec);
  if (ec)
    return status{errc::io_error, file.string() + ": " + ec.message()};
  const int64_t mtime_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();
  const std::string key = absolute.string();
  if (const auto it = entries_.find(key);
      it != entries_.end() && it->second.size == size && it->second.mtime_ns == mtime_ns)
    return it->second.sha256;
  auto digest = sha256_file(file);
  if (!digest)
    return digest;
  entries_[key] = entry{size, mtime_ns, *digest};
  save();
  return digest;
}

result<std::string> model_identity(const model_weights& weights, file_hash_cache* cache) {
  std::vector<std::pair<std::string, std::string>> digests;
  for (const fs::path& file : weights.files()) {
    auto digest = cache != nullptr ? cache->sha256(file) : sha256_file(file);
    if (!digest)
      return digest;
    digests.emplace_back(fs::relative(file, weights.root()).generic_string(), *digest);
  }
  if (weights.format() == checkpoint_format::single_file && digests.size() == 1)
    return digests.front().second;
  std::string lines;
  for (const auto& [relative, digest] : digests)
    lines += relative + " " + digest + "\n";
  if (sodium_init() < 0)
    return status{errc::internal, "libsodium failed to initialise"};
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(lines.data()), lines.size());
  return to_hex(digest, sizeof digest);
}

}  // namespace crowdiff::models
