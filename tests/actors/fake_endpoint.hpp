#pragma once

// Test doubles around a Worker under test: an endpoint that records what the worker tells it (and can hold
// a join's reply back), an uplink that hands out a fresh endpoint each time it is asked, and a generation
// runner that runs posted work only when the test says so (on the test's thread).

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/worker/generation_thread.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff::testing {

/// Runs nothing until run_next(): a generation is "running" for as long as the test wants.
class manual_runner final : public generation_runner {
 public:
  void post(std::function<void()> work) override { pending_.push_back(std::move(work)); }
  /// Runs the oldest posted work; false when there is none.
  bool run_next() {
    if (pending_.empty())
      return false;
    auto work = std::move(pending_.front());
    pending_.pop_front();
    work();
    return true;
  }
  size_t pending() const { return pending_.size(); }

 private:
  std::deque<std::function<void()>> pending_;
};

/// What an endpoint heard, in order ("join", "result:<assignment>", "fault:<assignment>",
/// "progress:<assignment>", "leave").
struct endpoint_log {
  std::vector<std::string> heard;
  bool hold_joins = false;  ///< keep join replies until the endpoint gets a tick_atom
  std::vector<caf::typed_response_promise<uint64_t>> held;
  uint64_t next_id = 41;

  size_t count(const std::string& what) const {
    size_t n = 0;
    for (const auto& h : heard)
      n += h == what;
    return n;
  }
  void release_joins() {
    for (auto& rp : held)
      rp.deliver(next_id);
    held.clear();
  }
};

inline caf::behavior fake_endpoint(caf::event_based_actor* self, std::shared_ptr<endpoint_log> log) {
  return {
      [self, log](join_atom, const pb<v1::WorkerRegistration>&,
                  const worker_actor&) -> caf::result<uint64_t> {
        log->heard.emplace_back("join");
        if (!log->hold_joins)
          return log->next_id;
        auto rp = self->make_response_promise<uint64_t>();
        log->held.push_back(rp);
        return rp;
      },
      [log](leave_atom, uint64_t) { log->heard.emplace_back("leave"); },
      [log](progress_atom, uint64_t, uint64_t assignment, uint32_t, uint32_t) {
        log->heard.push_back("progress:" + std::to_string(assignment));
      },
      [log](result_atom, uint64_t, uint64_t assignment, const pb<v1::GenerationResult>&) {
        log->heard.push_back("result:" + std::to_string(assignment));
      },
      [log](fault_atom, uint64_t, uint64_t assignment, const caf::error&) {
        log->heard.push_back("fault:" + std::to_string(assignment));
      },
      [](models_atom, uint64_t, const pb<v1::WorkerRegistration>&) {},
      // Answers the joins held back (a promise is delivered inside the actor that made it).
      [log](tick_atom) { log->release_joins(); },
  };
}

/// Hands out a new fake endpoint, logging into `log`, each time it is asked; `endpoints` keeps them.
inline caf::behavior fake_uplink(caf::event_based_actor* self, std::shared_ptr<endpoint_log> log,
                                 std::shared_ptr<std::vector<caf::actor>> endpoints) {
  return {
      [self, log, endpoints](uplink_atom) {
        auto e = self->spawn(fake_endpoint, log);
        endpoints->push_back(e);
        return caf::actor_cast<worker_endpoint_actor>(e);
      },
  };
}

}  // namespace crowdiff::testing
