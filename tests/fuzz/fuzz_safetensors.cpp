// A safetensors file image from an untrusted source: the header is validated whole (JSON, dtypes, shapes,
// offsets inside the data and not overlapping) or refused; a file that passes can be read tensor by tensor.

#include <cstddef>
#include <cstdint>
#include <string>

#include "models/weights/safetensors_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crowdiff::models;
  safetensors_limits limits;
  limits.max_header_bytes = 1 << 20;
  limits.max_tensors = 4096;
  auto file = safetensors_file::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz", limits);
  if (!file)
    return 0;
  volatile uint8_t sink = 0;
  for (const auto& t : file->tensors()) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    if (t.bytes > 0)
      sink = static_cast<uint8_t>(sink ^ p[0] ^ p[t.bytes - 1]);  // every byte range is inside the image
    (void)file->find(t.name);
  }
  return 0;
}
