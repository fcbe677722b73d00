#include "actors/broker/job_status.hpp"

namespace crowdiff::broker {

bool is_terminal(v1::JobState state) {
  return state == v1::DONE || state == v1::FAILED || state == v1::CANCELLED;
}

v1::JobStatus make_status(const v1::JobRecord& record, const std::vector<live_image>& live,
                          const queue_estimate* estimate) {
  v1::JobStatus s;
  s.set_job_id(record.id());
  s.set_state(record.state());
  *s.mutable_quote() = record.quote();
  s.set_images_total(static_cast<uint32_t>(record.images_size()));
  s.set_failure_code(record.failure_code());
  s.set_failure_reason(record.failure_reason());
  s.set_created_ms(record.created_ms());
  s.set_finished_ms(record.finished_ms());
  int64_t charged = 0;
  for (int i = 0; i < record.images_size(); ++i) {
    const auto& slot = record.images(i);
    auto* out = s.add_images();
    *out = slot;
    charged += slot.charged_mk();
    bool running = static_cast<size_t>(i) < live.size() && live[static_cast<size_t>(i)].running;
    switch (slot.state()) {
      case v1::IMAGE_DONE:
        s.set_images_done(s.images_done() + 1);
        break;
      case v1::IMAGE_FAILED:
        s.set_images_failed(s.images_failed() + 1);
        break;
      case v1::IMAGE_PENDING:
      case v1::IMAGE_RUNNING:
        if (running) {
          out->set_state(v1::IMAGE_RUNNING);
          out->set_worker_id(live[static_cast<size_t>(i)].worker);
          s.set_images_running(s.images_running() + 1);
          const auto& l = live[static_cast<size_t>(i)];
          if (l.step >= s.current_step()) {
            s.set_current_step(l.step);
            s.set_total_steps(l.total);
          }
        } else if (!is_terminal(record.state())) {
          s.set_images_waiting(s.images_waiting() + 1);
        }
        break;
      default:
        break;
    }
  }
  s.set_charged_mk(charged);
  if (!is_terminal(record.state())) {
    if (s.images_running() > 0 && record.state() == v1::QUEUED)
      s.set_state(v1::RUNNING);
    if (estimate != nullptr) {
      s.set_queue_position(estimate->position);
      s.set_estimated_start_ms(estimate->start_ms);
      s.set_estimated_finish_ms(estimate->finish_ms);
      s.set_possible(estimate->possible);
      if (!estimate->possible && s.failure_reason().empty())
        s.set_failure_reason(estimate->reason);
    } else {
      s.set_possible(true);
    }
  }
  return s;
}

}  // namespace crowdiff::broker
