#pragma once

// How much one node connection may ask of the core at once, as the node port's guard sees it: BASP headers
// in both directions, the time as an argument, what to do next out. No CAF, no sockets.
//
// A peer's requests (BASP direct or routed messages whose message id asks for an answer) are pending until
// the core's answer to them passes down the same connection; with `max_pending_requests` pending, the guard
// reads nothing more from that peer until an answer goes down. Every other message (one-way ones: progress,
// results, monitors, heartbeats; and the peer's own answers, which it could make up) takes a token from a
// bucket (`messages_per_s`, one second's worth at most), so they cannot flood the core's mailboxes either.
// Both push back on the peer's TCP connection: nothing is dropped, a peer that asks too much simply waits.

#include <cstddef>
#include <cstdint>
#include <set>
#include <utility>

namespace crowdiff::node_guard {

struct flow_limits {
  size_t max_pending_requests = 256;  ///< requests one connection awaits answers to at once
  double messages_per_s =
      20'000;  ///< one-way messages a connection sends, on average; a second's worth at once
};

/// What the guard does before reading a peer's next frame.
struct flow_wait {
  bool for_answer = false;  ///< wait until an answer goes down (requests pending at the limit)
  int64_t ms = 0;           ///< else wait this long (out of tokens); 0: read now
};

class peer_flow {
 public:
  explicit peer_flow(flow_limits limits, int64_t now_ms = 0);

  /// A frame the peer sent has gone up to the core (its 32-byte header, already checked).
  void sent_up(const uint8_t* header, int64_t now_ms);
  /// The core sends a frame down to the peer (its header): an answer retires the request it answers.
  void sent_down(const uint8_t* header);
  /// Whether the peer's next frame may be read now.
  flow_wait before_next(int64_t now_ms);

  size_t pending_requests() const { return pending_.size(); }

 private:
  void refill(int64_t now_ms);

  flow_limits limits_;
  double tokens_;
  int64_t refilled_ms_;
  // (the peer's actor, the request id): ids are per actor, so two of a node's actors may use the same one.
  std::multiset<std::pair<uint64_t, uint64_t>> pending_;
};

}  // namespace crowdiff::node_guard
