#pragma once

// Test doubles around a Scheduler under test: a Broker and a Ledger that record what they are told, and a
// worker that joins, records the tasks pushed to it and delivers what the test hands it (results must come
// from the worker's own address).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "protocol/errors.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff::testing {

struct broker_log {
  std::vector<std::string> heard;  ///< "started:<index>", "completed:<index>:<worker>", "failed:<index>",
                                   ///< "requeued:<index>"
  std::vector<v1::GenerationResult> images;
  size_t count(const std::string& prefix) const {
    size_t n = 0;
    for (const auto& h : heard)
      n += h.rfind(prefix, 0) == 0;
    return n;
  }
};

inline caf::behavior fake_broker(caf::event_based_actor*, std::shared_ptr<broker_log> log) {
  return {
      [log](started_atom, const uuid&, uint32_t index, uint64_t, const std::string&) {
        log->heard.push_back("started:" + std::to_string(index));
      },
      [](progress_atom, const uuid&, uint32_t, uint32_t, uint32_t) {},
      [log](completed_atom, const uuid&, uint32_t index, uint64_t worker, uint64_t,
            pb<v1::GenerationResult>& r) {
        log->heard.push_back("completed:" + std::to_string(index) + ":" + std::to_string(worker));
        log->images.push_back(std::move(r.value));
      },
      [log](failed_atom, const uuid&, uint32_t index, const caf::error&) {
        log->heard.push_back("failed:" + std::to_string(index));
      },
      [log](requeued_atom, const uuid&, uint32_t index) {
        log->heard.push_back("requeued:" + std::to_string(index));
      },
      [](catalog_atom, const std::vector<std::string>&) {},
  };
}

/// A Ledger that takes uptime reports and nothing else.
inline caf::behavior quiet_ledger(caf::event_based_actor*, int) {
  return {
      [](uptime_atom, uint64_t, uint64_t, int64_t, int64_t) {},
  };
}

struct worker_log {
  uint64_t id = 0;
  std::optional<status> join_error;
  std::vector<v1::TaskSpec> runs;
  std::vector<uint64_t> cancels;
};

/// Joins `scheduler` when sent join_atom; sent (result_atom, assignment, bytes), delivers those bytes as
/// the image of that task.
inline caf::behavior scripted_worker(caf::event_based_actor* self, scheduler_actor scheduler,
                                     v1::WorkerRegistration registration, std::shared_ptr<worker_log> log) {
  return {
      [=](join_atom) {
        self->request(scheduler, caf::infinite, join_atom::value, pb<v1::WorkerRegistration>{registration},
                      caf::actor_cast<worker_actor>(self))
            .then([log](uint64_t id) { log->id = id; },
                  [log](caf::error& e) { log->join_error = to_status(e); });
      },
      [log](run_atom, pb<v1::TaskSpec>& t) { log->runs.push_back(std::move(t.value)); },
      [log](cancel_atom, uint64_t assignment) { log->cancels.push_back(assignment); },
      [](drain_atom) {},
      [=](result_atom, uint64_t assignment, const std::string& bytes) {
        for (const auto& t : log->runs) {
          if (t.assignment_id() != assignment)
            continue;
          v1::GenerationResult r;
          r.set_job_id(t.job_id());
          r.set_image_index(t.image_index());
          r.set_image(bytes);
          r.set_seed(t.seed());
          r.set_model(t.model());
          self->send(scheduler, result_atom::value, log->id, assignment,
                     pb<v1::GenerationResult>{std::move(r)});
        }
      },
  };
}

}  // namespace crowdiff::testing
