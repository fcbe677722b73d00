#pragma once

// CAF 0.17's BASP frames as the node-port guard sees them: a 32-byte header (operation, two padding bytes,
// flags, payload length, operation data, source and destination actor; integers in network byte order)
// followed by the payload. CAF reads whatever payload length a header announces, before any login, so the
// guard checks each header first. No CAF, no sockets: bytes in, a verdict out.

#include <cstddef>
#include <cstdint>
#include <string>

namespace crowdiff::node_guard {

inline constexpr size_t basp_header_bytes = 32;

struct frame_limits {
  uint32_t max_handshake_bytes = 64 * 1024;  ///< a handshake's payload (node id, app identifiers, actor ids)
  uint32_t max_payload_bytes = 48u << 20;    ///< any later message (an image with its metadata)
};

struct frame_verdict {
  bool ok = false;
  bool client_handshake = false;  ///< the frame that ends the handshake
  uint32_t payload_bytes = 0;
  std::string refused;  ///< why, when not ok
};

/// Checks one header (`basp_header_bytes` bytes) a peer sent. Before the peer's handshake only handshake
/// frames pass, with at most `max_handshake_bytes` of payload; after it, any known operation with at most
/// `max_payload_bytes`.
frame_verdict check_header(const uint8_t* header, bool handshaken, const frame_limits& limits);

}  // namespace crowdiff::node_guard
