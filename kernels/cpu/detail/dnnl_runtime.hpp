#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <dnnl.hpp>

#include "common/status.hpp"
#include "kernels/arena.hpp"
#include "kernels/dtype.hpp"

namespace crowdiff::kernels::cpu::detail {

/// Identifies a primitive by what shapes it: an op tag followed by dimensions and dtypes.
using primitive_key = std::array<int64_t, 16>;

struct primitive_key_hash {
  size_t operator()(const primitive_key& k) const;
};

/// A oneDNN primitive made once per shape and reused: its memory objects are created without buffers and
/// pointed at each call's tensors, so executing allocates nothing of ours.
struct cached_primitive {
  dnnl::primitive primitive;
  dnnl::memory::desc weights_desc;  ///< The layout the primitive wants its weights in (if it has weights).
  size_t scratchpad_bytes = 0;
  std::unordered_map<int, dnnl::memory> args;
};

/// The oneDNN engine, stream and primitive cache of one CPU backend. All oneDNN calls go through here or
/// through functions that catch `dnnl::error`, so no exception leaves the library.
class dnnl_runtime {
 public:
  /// internal when oneDNN cannot make a CPU engine. With `allow_amx`, first lets oneDNN dispatch to AMX
  /// (Debian's oneDNN 2.6 stops below it unless told), unless DNNL_MAX_CPU_ISA/ONEDNN_MAX_CPU_ISA says
  /// otherwise; this is process-wide and only works before oneDNN's first use.
  static result<std::unique_ptr<dnnl_runtime>> create(bool allow_amx);

  dnnl::engine& engine() { return engine_; }
  dnnl::stream& stream() { return stream_; }

  /// The cached primitive for `key`, or nullptr.
  cached_primitive* find(const primitive_key& key);
  /// Caches a primitive made from `pd`, with a memory object (no buffer yet) for each argument in
  /// `arg_descs`. oneDNN exceptions propagate: call inside `guard`.
  cached_primitive& insert(const primitive_key& key, const dnnl::primitive& p,
                           const dnnl::primitive_desc_base& pd,
                           std::initializer_list<std::pair<int, dnnl::memory::desc>> arg_descs);

  /// Points the cached primitive's arguments at `buffers`, gives it scratchpad from `scratch`, runs it and
  /// waits. A null buffer for an argument the primitive lacks (no bias) is skipped.
  status execute(cached_primitive& entry, std::initializer_list<std::pair<int, const void*>> buffers,
                 arena& scratch);

  /// Runs `body` (which may throw dnnl::error or std::bad_alloc) and turns exceptions into a status.
  template <class F>
  static status guard(const char* what, F&& body) noexcept {
    try {
      return body();
    } catch (const dnnl::error& e) {
      return error_status(what, e.status, e.what());
    } catch (const std::exception& e) {
      return {errc::resource_exhausted, std::string(what) + ": " + e.what()};
    }
  }

 private:
  dnnl_runtime(dnnl::engine engine, dnnl::stream stream)
      : engine_(std::move(engine)), stream_(std::move(stream)) {}
  static status error_status(const char* what, dnnl_status_t code, const char* message);

  dnnl::engine engine_;
  dnnl::stream stream_;
  std::unordered_map<primitive_key, cached_primitive, primitive_key_hash> cache_;
};

/// oneDNN's data type for a crowdiff float dtype.
dnnl::memory::data_type to_dnnl(dtype t);

/// Weights a CPU backend converted and rearranged into a oneDNN layout at load. The primary layout is the
/// one the op's primitive picked for a typical shape; a primitive for another shape that wants another
/// layout gets it made once (from the primary) and kept here too.
class packed_weight final : public storage {
 public:
  /// Takes `memory`'s buffer as the primary layout. nullptr when out of memory.
  static storage_ref create(const void* owner, dnnl::memory memory);

  const void* owner() const { return owner_; }
  const dnnl::memory::desc& desc() const { return desc_; }

  /// The weights in layout `want`, making and keeping that layout on first use.
  result<const void*> in_layout(const dnnl::memory::desc& want, dnnl_runtime& runtime);

 private:
  packed_weight(const void* owner, dnnl::memory memory);
  void on_unreferenced() override { delete this; }

  const void* owner_;
  dnnl::memory primary_;
  dnnl::memory::desc desc_;
  std::mutex mutex_;
  std::vector<dnnl::memory> variants_;
};

}  // namespace crowdiff::kernels::cpu::detail
