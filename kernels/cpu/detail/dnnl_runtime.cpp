#include "kernels/cpu/detail/dnnl_runtime.hpp"

#include <array>
#include <cstdlib>

namespace crowdiff::kernels::cpu::detail {

size_t primitive_key_hash::operator()(const primitive_key& k) const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the words
  for (int64_t v : k) {
    h ^= static_cast<uint64_t>(v);
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

result<std::unique_ptr<dnnl_runtime>> dnnl_runtime::create(bool allow_amx) {
  if (allow_amx && std::getenv("DNNL_MAX_CPU_ISA") == nullptr &&
      std::getenv("ONEDNN_MAX_CPU_ISA") == nullptr) {
    // Fails (harmlessly, keeping the default) once oneDNN has been used in this process.
    static const dnnl::status amx = dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core_amx);
    (void)amx;
  }
  std::unique_ptr<dnnl_runtime> out;
  const status st = guard("creating the oneDNN CPU engine", [&] {
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    out.reset(new dnnl_runtime(std::move(engine), std::move(stream)));
    return status::ok();
  });
  if (!st)
    return st;
  return out;
}

status dnnl_runtime::error_status(const char* what, dnnl_status_t code, const char* message) {
  const errc kind = code == dnnl_unimplemented   ? errc::unsupported
                    : code == dnnl_out_of_memory ? errc::resource_exhausted
                                                 : errc::internal;
  return {kind, std::string(what) + ": oneDNN: " + message};
}

cached_primitive* dnnl_runtime::find(const primitive_key& key) {
  const auto it = cache_.find(key);
  return it == cache_.end() ? nullptr : &it->second;
}

cached_primitive& dnnl_runtime::insert(const primitive_key& key, const dnnl::primitive& p,
                                       const dnnl::primitive_desc_base& pd,
                                       std::initializer_list<std::pair<int, dnnl::memory::desc>> arg_descs) {
  cached_primitive entry;
  entry.primitive = p;
  entry.weights_desc = pd.weights_desc();
  entry.scratchpad_bytes = pd.scratchpad_desc().get_size();
  for (const auto& [arg, desc] : arg_descs) {
    if (desc.data.ndims > 0)  // an absent optional argument (no bias) has an empty desc
      entry.args.emplace(arg, dnnl::memory(desc, engine_, DNNL_MEMORY_NONE));
  }
  if (entry.scratchpad_bytes > 0)
    entry.args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(pd.scratchpad_desc(), engine_, DNNL_MEMORY_NONE));
  return cache_.insert_or_assign(key, std::move(entry)).first->second;
}

status dnnl_runtime::execute(cached_primitive& entry,
                             std::initializer_list<std::pair<int, const void*>> buffers, arena& scratch) {
  storage_ref scratchpad;
  if (entry.scratchpad_bytes > 0) {
    auto block = scratch.allocate(entry.scratchpad_bytes);
    if (!block)
      return block.error();
    scratchpad = std::move(*block);
  }
  return guard("executing a oneDNN primitive", [&] {
    for (const auto& [arg, pointer] : buffers) {
      const auto it = entry.args.find(arg);
      if (it == entry.args.end()) {
        if (pointer != nullptr)
          return status{errc::internal, "a buffer for an argument the primitive does not take"};
        continue;
      }
      it->second.set_data_handle(const_cast<void*>(pointer));
    }
    if (scratchpad)
      entry.args.at(DNNL_ARG_SCRATCHPAD).set_data_handle(scratchpad->data());
    // The C call with a stack array: the C++ wrapper would copy the arguments into a new vector each time.
    std::array<dnnl_exec_arg_t, 8> args{};
    int count = 0;
    for (const auto& [arg, memory] : entry.args) {
      if (count == static_cast<int>(args.size()))
        return status{errc::internal, "a oneDNN primitive with more than 8 arguments"};
      args[static_cast<size_t>(count++)] = {arg, memory.get()};
    }
    dnnl::error::wrap_c_api(dnnl_primitive_execute(entry.primitive.get(), stream_.get(), count, args.data()),
                            "could not execute a primitive");
    stream_.wait();
    return status::ok();
  });
}

dnnl::memory::data_type to_dnnl(dtype t) {
  switch (t) {
    case dtype::f32:
      return dnnl::memory::data_type::f32;
    case dtype::f16:
      return dnnl::memory::data_type::f16;
    case dtype::bf16:
      return dnnl::memory::data_type::bf16;
    case dtype::i32:
      return dnnl::memory::data_type::s32;
    case dtype::i64:
    case dtype::u8:
      break;
  }
  return dnnl::memory::data_type::undef;
}

storage_ref packed_weight::create(const void* owner, dnnl::memory memory) {
  auto* p = new (std::nothrow) packed_weight(owner, std::move(memory));
  return storage_ref(p);
}

packed_weight::packed_weight(const void* owner, dnnl::memory memory)
    : storage(memory.get_data_handle(), memory.get_desc().get_size(), device::cpu()),
      owner_(owner),
      primary_(std::move(memory)),
      desc_(primary_.get_desc()) {}

result<const void*> packed_weight::in_layout(const dnnl::memory::desc& want, dnnl_runtime& runtime) {
  if (want == desc_)
    return static_cast<const void*>(data());
  std::lock_guard lock(mutex_);
  for (const dnnl::memory& m : variants_) {
    if (m.get_desc() == want)
      return static_cast<const void*>(m.get_data_handle());
  }
  const void* made = nullptr;
  const status st = dnnl_runtime::guard("repacking a weight", [&] {
    dnnl::memory target(want, runtime.engine());  // oneDNN owns this buffer
    dnnl::reorder(primary_, target).execute(runtime.stream(), primary_, target);
    runtime.stream().wait();
    variants_.push_back(target);
    made = target.get_data_handle();
    return status::ok();
  });
  if (!st)
    return st;
  return made;
}

}  // namespace crowdiff::kernels::cpu::detail
