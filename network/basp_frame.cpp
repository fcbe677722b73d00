#include "network/basp_frame.hpp"

namespace crowdiff::node_guard {
namespace {

// BASP's message types (caf/io/basp/message_type.hpp); their numbers are on the wire.
constexpr uint8_t server_handshake = 0x00;
constexpr uint8_t client_handshake = 0x01;
constexpr uint8_t last_known_operation = 0x06;  // heartbeat

frame_verdict refuse(std::string why) {
  frame_verdict v;
  v.refused = std::move(why);
  return v;
}

}  // namespace

frame_verdict check_header(const uint8_t* h, bool handshaken, const frame_limits& limits) {
  uint8_t operation = h[0];
  uint32_t payload = (uint32_t{h[4]} << 24) | (uint32_t{h[5]} << 16) | (uint32_t{h[6]} << 8) | uint32_t{h[7]};
  if (operation > last_known_operation)
    return refuse("unknown BASP operation " + std::to_string(operation));
  bool handshake = operation == server_handshake || operation == client_handshake;
  if (!handshaken && !handshake)
    return refuse("a message before the handshake");
  uint32_t most = handshake ? limits.max_handshake_bytes : limits.max_payload_bytes;
  if (payload > most)
    return refuse("a payload of " + std::to_string(payload) + " bytes (at most " + std::to_string(most) +
                  ")");
  frame_verdict v;
  v.ok = true;
  v.client_handshake = operation == client_handshake;
  v.payload_bytes = payload;
  return v;
}

}  // namespace crowdiff::node_guard
