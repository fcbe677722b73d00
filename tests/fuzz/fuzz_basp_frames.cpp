// The node port guard's frame check over a stream of frames as a peer might send them: headers are checked
// in order, a handshake changes what may follow, and payloads are skipped as the guard would buffer them.

#include <cstddef>
#include <cstdint>

#include "network/basp_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crowdiff::node_guard;
  frame_limits limits;
  limits.max_handshake_bytes = 4096;
  limits.max_payload_bytes = 1 << 16;
  bool handshaken = false;
  size_t at = 0;
  while (size - at >= basp_header_bytes) {
    auto v = check_header(data + at, handshaken, limits);
    if (!v.ok) {
      if (v.refused.empty())
        __builtin_trap();  // a refusal always says why
      return 0;
    }
    uint32_t most = v.client_handshake || !handshaken ? limits.max_handshake_bytes : limits.max_payload_bytes;
    if (v.payload_bytes > most)
      __builtin_trap();  // a passed frame is within its limit
    handshaken |= v.client_handshake;
    at += basp_header_bytes;
    at += std::min<size_t>(v.payload_bytes, size - at);
  }
  return 0;
}
