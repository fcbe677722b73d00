#include "models/weights/safetensors_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace crowdiff::models {

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

bool is_pickle_checkpoint(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".ckpt" || ext == ".pt" || ext == ".pth" || ext == ".bin";
}

// The file's bytes: a private read-only mapping, or a copy for `parse`.
struct safetensors_file::mapping {
  const char* data = nullptr;
  size_t size = 0;
  void* mapped = nullptr;
  std::string owned;

  ~mapping() {
    if (mapped != nullptr)
      ::munmap(mapped, size);
  }
};

namespace {

struct dtype_info {
  std::string_view name;
  size_t size;
  std::optional<kernels::dtype> type;  // empty: valid safetensors, not loaded by crowdiff
};

constexpr dtype_info known_dtypes[] = {
    {"F32", 4, kernels::dtype::f32}, {"F16", 2, kernels::dtype::f16},  {"BF16", 2, kernels::dtype::bf16},
    {"I32", 4, kernels::dtype::i32}, {"I64", 8, kernels::dtype::i64},  {"U8", 1, kernels::dtype::u8},
    {"F64", 8, std::nullopt},        {"I8", 1, std::nullopt},          {"I16", 2, std::nullopt},
    {"U16", 2, std::nullopt},        {"U32", 4, std::nullopt},         {"U64", 8, std::nullopt},
    {"BOOL", 1, std::nullopt},       {"F8_E4M3", 1, std::nullopt},     {"F8_E5M2", 1, std::nullopt},
    {"F8_E8M0", 1, std::nullopt},    {"F8_E4M3FNUZ", 1, std::nullopt}, {"F8_E5M2FNUZ", 1, std::nullopt},
};

const dtype_info* find_dtype(std::string_view name) {
  for (const auto& info : known_dtypes)
    if (info.name == name)
      return &info;
  return nullptr;
}

uint64_t read_le64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

struct entry {
  std::string name;
  const dtype_info* info;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

}  // namespace

safetensors_file::safetensors_file(safetensors_file&&) noexcept = default;
safetensors_file& safetensors_file::operator=(safetensors_file&&) noexcept = default;
safetensors_file::~safetensors_file() = default;

result<safetensors_file> safetensors_file::open(const std::filesystem::path& path,
                                                const safetensors_limits& limits) {
  if (is_pickle_checkpoint(path))
    return status{errc::unsupported,
                  path.string() +
                      ": pickle checkpoints (.ckpt/.pt/.pth/.bin) can run code when loaded and "
                      "are refused; convert the model to .safetensors"};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return status{errc::io_error, path.string() + ": " + std::strerror(errno)};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return status{errc::io_error, path.string() + ": not a regular file"};
  }
  safetensors_file file;
  file.source_ = path.string();
  file.map_ = std::make_unique<mapping>();
  file.map_->size = static_cast<size_t>(st.st_size);
  if (file.map_->size > 0) {
    void* addr = ::mmap(nullptr, file.map_->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return status{errc::io_error, path.string() + ": mmap: " + std::strerror(err)};
    }
    file.map_->mapped = addr;
    file.map_->data = static_cast<const char*>(addr);
  }
  ::close(fd);
  CROWDIFF_RETURN_IF_ERROR(file.parse_header(limits));
  return file;
}

void safetensors_file::release_pages() const {
  // The map is private and read-only, so no page was ever written: dropping them loses nothing.
  if (map_ && map_->mapped != nullptr)
    ::madvise(map_->mapped, map_->size, MADV_DONTNEED);
}

bool safetensors_file::release_pages(const void* data, size_t bytes) const {
  if (!map_ || map_->mapped == nullptr)
    return false;
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const auto map_begin = reinterpret_cast<uintptr_t>(map_->mapped);
  if (begin < map_begin || begin + bytes > map_begin + map_->size)
    return false;
  // Only pages wholly inside the range: its neighbours may still be needed.
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  if (last > first)
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  return true;
}

result<safetensors_file> safetensors_file::parse(std::string bytes, std::string display_name,
                                                 const safetensors_limits& limits) {
  safetensors_file file;
  file.source_ = std::move(display_name);
  file.map_ = std::make_unique<mapping>();
  file.map_->owned = std::move(bytes);
  file.map_->data = file.map_->owned.data();
  file.map_->size = file.map_->owned.size();
  CROWDIFF_RETURN_IF_ERROR(file.parse_header(limits));
  return file;
}

status safetensors_file::parse_header(const safetensors_limits& limits) {
  const auto fail = [this](errc code, const std::string& what) {
    return status{code, source_ + ": " + what};
  };
  const size_t file_size = map_->size;
  if (file_size < 8)
    return fail(errc::corruption, "too short for a safetensors header");
  const uint64_t header_size = read_le64(map_->data);
  if (header_size > limits.max_header_bytes)
    return fail(errc::resource_exhausted,
                "header of " + std::to_string(header_size) + " bytes exceeds the limit");
  if (header_size > file_size - 8)
    return fail(errc::corruption,
                "header size " + std::to_string(header_size) + " runs past the end of the file");
  const std::string_view header_text(map_->data + 8, header_size);
  const nlohmann::json header = nlohmann::json::parse(header_text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return fail(errc::corruption, "header is not a JSON object");
  if (header.size() > limits.max_tensors + 1)
    return fail(errc::resource_exhausted, "more than " + std::to_string(limits.max_tensors) + " tensors");

  const uint64_t data_size = file_size - 8 - header_size;
  std::vector<entry> entries;
  entries.reserve(header.size());
  for (const auto& item : header.items()) {
    // Named copies, not a structured binding: the lambda below captures the name (clang before 16 cannot
    // capture a binding, and the fuzz build uses clang).
    const std::string& name = item.key();
    const auto& value = item.value();
    if (name == "__metadata__") {
      if (!value.is_object())
        return fail(errc::corruption, "__metadata__ is not an object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string())
          return fail(errc::corruption, "__metadata__." + key + " is not a string");
        metadata_[key] = text.get<std::string>();
      }
      continue;
    }
    const auto bad = [&](const std::string& what) {
      return fail(errc::corruption, "tensor " + name + ": " + what);
    };
    if (!value.is_object())
      return bad("entry is not an object");
    const auto dtype_it = value.find("dtype");
    const auto shape_it = value.find("shape");
    const auto offsets_it = value.find("data_offsets");
    if (dtype_it == value.end() || !dtype_it->is_string())
      return bad("missing dtype");
    if (shape_it == value.end() || !shape_it->is_array())
      return bad("missing shape");
    if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2)
      return bad("data_offsets must be [begin, end]");
    const dtype_info* info = find_dtype(dtype_it->get_ref<const std::string&>());
    if (info == nullptr)
      return bad("unknown dtype " + dtype_it->get<std::string>());
    if (shape_it->size() > limits.max_rank)
      return bad("rank " + std::to_string(shape_it->size()) + " exceeds the limit");
    entry e{name, info, {}, 0, 0};
    uint64_t elements = 1;
    for (const auto& dim : *shape_it) {
      if (!dim.is_number_unsigned())
        return bad("shape has a non-integer or negative dimension");
      const uint64_t d = dim.get<uint64_t>();
      if (d > (uint64_t{1} << 48) || (d != 0 && elements > (uint64_t{1} << 48) / d))
        return bad("shape is too large");
      elements *= d;
      e.shape.push_back(static_cast<int64_t>(d));
    }
    const auto& begin = (*offsets_it)[0];
    const auto& end = (*offsets_it)[1];
    if (!begin.is_number_unsigned() || !end.is_number_unsigned())
      return bad("data_offsets are not non-negative integers");
    e.begin = begin.get<uint64_t>();
    e.end = end.get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      return bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                 ") outside the data section of " + std::to_string(data_size) + " bytes");
    if (e.end - e.begin != elements * info->size)
      return bad("shape " + shape_to_string(e.shape) + " of " + std::string(info->name) + " needs " +
                 std::to_string(elements * info->size) + " bytes, data_offsets give " +
                 std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }

  std::sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < entries.size(); ++i) {
    // Empty tensors occupy no bytes, so they cannot overlap anything.
    if (entries[i].begin < entries[i - 1].end && entries[i].begin != entries[i].end)
      return fail(errc::corruption,
                  "tensors " + entries[i - 1].name + " and " + entries[i].name + " overlap");
  }

  const char* data_start = map_->data + 8 + header_size;
  for (auto& e : entries) {
    if (!e.info->type) {
      unsupported_[e.name] = std::string(e.info->name);
      continue;
    }
    tensor_view view;
    view.name = e.name;
    view.type = *e.info->type;
    view.shape = std::move(e.shape);
    view.data = data_start + e.begin;
    view.bytes = e.end - e.begin;
    index_.emplace(view.name, tensors_.size());
    tensors_.push_back(std::move(view));
  }
  return status::ok();
}

const tensor_view* safetensors_file::lookup(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

result<tensor_view> safetensors_file::find(std::string_view name) const {
  if (const tensor_view* view = lookup(name))
    return *view;
  if (const auto it = unsupported_.find(std::string(name)); it != unsupported_.end())
    return status{errc::unsupported, source_ + ": tensor " + std::string(name) + " has dtype " + it->second +
                                         "; crowdiff loads F32, F16 and BF16 weights"};
  return status{errc::not_found, source_ + ": no tensor named " + std::string(name)};
}

}  // namespace crowdiff::models
