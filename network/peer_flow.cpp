#include "network/peer_flow.hpp"

#include <algorithm>
#include <cmath>

namespace crowdiff::node_guard {
namespace {

// BASP (caf/io/basp/header.hpp): operation at 0, the operation's data at 8 (a message id for messages),
// source actor at 16, destination actor at 24; big-endian.
constexpr uint8_t direct_message = 0x02;
constexpr uint8_t routed_message = 0x03;

// CAF's message ids (caf/message_id.hpp): the top bit marks an answer, the low 60 bits are the request id
// (0 for one-way messages).
constexpr uint64_t response_flag = 0x8000000000000000ull;
constexpr uint64_t request_id_mask = 0x0FFFFFFFFFFFFFFFull;

uint64_t read_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | p[i];
  return v;
}

bool is_message(const uint8_t* header) {
  return header[0] == direct_message || header[0] == routed_message;
}

}  // namespace

peer_flow::peer_flow(flow_limits limits, int64_t now_ms)
    : limits_(limits), tokens_(limits.messages_per_s), refilled_ms_(now_ms) {}

void peer_flow::refill(int64_t now_ms) {
  if (now_ms <= refilled_ms_)
    return;
  tokens_ = std::min(limits_.messages_per_s,
                     tokens_ + static_cast<double>(now_ms - refilled_ms_) * limits_.messages_per_s / 1000.0);
  refilled_ms_ = now_ms;
}

void peer_flow::sent_up(const uint8_t* header, int64_t now_ms) {
  uint64_t id = is_message(header) ? read_u64(header + 8) : 0;
  if ((id & response_flag) == 0 && (id & request_id_mask) != 0) {
    pending_.emplace(read_u64(header + 16), id & request_id_mask);
    return;  // a request: paced by the answers
  }
  // Everything else takes a token: one-way messages (progress, results, monitors, heartbeats), and answers,
  // which a peer could otherwise make up without end (the core asks its peers next to nothing).
  refill(now_ms);
  tokens_ -= 1;
}

void peer_flow::sent_down(const uint8_t* header) {
  if (!is_message(header))
    return;
  uint64_t id = read_u64(header + 8);
  if ((id & response_flag) == 0)
    return;
  auto it = pending_.find({read_u64(header + 24), id & request_id_mask});
  if (it != pending_.end())
    pending_.erase(it);
}

flow_wait peer_flow::before_next(int64_t now_ms) {
  flow_wait w;
  if (pending_.size() >= limits_.max_pending_requests) {
    w.for_answer = true;
    return w;
  }
  refill(now_ms);
  if (tokens_ < 1)
    w.ms = std::max<int64_t>(
        1, static_cast<int64_t>(std::ceil((1 - tokens_) * 1000.0 / limits_.messages_per_s)));
  return w;
}

}  // namespace crowdiff::node_guard
