// The Scheduler's results: every image is checked (result_check) before the Broker pays for it.
#include <memory>
#include <string>

#include <caf/all.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/scheduler/detail/scheduler_internals.hpp"
#include "actors/scheduler/result_check.hpp"
#include "common/log.hpp"
#include "protocol/errors.hpp"

namespace crowdiff::scheduler_detail {
namespace {

// A checked result: the first for its image completes it and goes to the Broker to be paid; later copies
// are dropped.
void complete_result(self_ptr self, uint64_t worker, uint64_t assignment, v1::GenerationResult r) {
  auto& st = self->state;
  auto job = uuid::from_bytes(r.job_id());
  scheduling::decisions d;
  int64_t now = st.options.now();
  auto winner = st.alloc.complete(assignment, worker, *job, r.image_index(), r.generation_ms(), now, d);
  if (winner) {
    st.delivered.emplace_back(now, winner->megapixel_steps);
    while (!st.delivered.empty() && st.delivered.front().first < now - 60'000)
      st.delivered.pop_front();
    auto w = st.workers.find(worker);
    r.set_worker_id(worker);
    if (w != st.workers.end())
      r.set_worker_name(w->second.registration.name());
    uint64_t owner = w != st.workers.end() ? w->second.registration.owner_user_id() : 0;
    uint32_t index = r.image_index();  // read before the move below: argument order is unspecified
    if (st.broker)
      self->send(st.broker, completed_atom::value, *job, index, worker, owner,
                 pb<v1::GenerationResult>{std::move(r)});
  } else {
    log::info("result_ignored")
        .kv("job", job->to_string())
        .kv("image", r.image_index())
        .kv("worker", worker)
        .kv("reason", "duplicate or not assigned");
  }
  apply(self, d);
}

// A result that failed the check is the worker's fault: nobody is paid, the image runs elsewhere (the
// allocator excludes this worker for it), and the worker's record counts it.
void reject_result(self_ptr self, uint64_t worker, uint64_t assignment, const status& why) {
  auto& st = self->state;
  const auto* a = st.alloc.find_assignment(assignment);
  if (a == nullptr || a->worker != worker)
    return;  // it timed out or was cancelled while it was checked
  log::warning("result_rejected")
      .kv("job", a->job.to_string())
      .kv("image", a->index)
      .kv("worker", worker)
      .kv("reason", why.message());
  count_fault(self, worker, true);
  scheduling::decisions d;
  st.alloc.fault(assignment, worker, errc::generation_failed, why.message(), st.options.now(), d);
  apply(self, d);
}

// A short-lived actor that checks one image and quits: answers `check` with the format, or the reason it
// failed. Its data come as spawn arguments (CAF 0.17 dereferences an empty argument tuple when there are
// none, which UBSan reports).
caf::behavior result_checker(caf::event_based_actor* self, std::shared_ptr<const std::string> image,
                             uint32_t width, uint32_t height) {
  return {[=](check_atom) -> caf::result<std::string> {
    auto rp = self->make_response_promise<std::string>();
    auto format = scheduling::check_result(*image, width, height);
    if (format)
      rp.deliver(std::move(*format));
    else
      rp.deliver(to_error(format.error()));
    self->quit();
    return rp;
  }};
}

}  // namespace

// A worker's image is checked (decoded, sized, not flat) before anyone is paid for it. Decoding takes
// milliseconds, so it runs in a short-lived actor of its own, beside the Scheduler, which goes on
// allocating. At most one check per assignment is in flight: a worker cannot make us decode more than the
// images it holds.
void receive_result(self_ptr self, uint64_t worker, uint64_t assignment, v1::GenerationResult r) {
  auto& st = self->state;
  if (!from_worker(self, worker)) {
    log::warning("result_rejected").kv("worker", worker).kv("reason", "sender is not that worker");
    return;
  }
  auto job = uuid::from_bytes(r.job_id());
  const auto* a = st.alloc.find_assignment(assignment);
  if (!job || a == nullptr || a->worker != worker || a->job != *job || a->index != r.image_index()) {
    log::info("result_ignored")
        .kv("worker", worker)
        .kv("assignment", assignment)
        .kv("reason", "not an image this worker holds");
    return;
  }
  if (!st.checking.insert(assignment).second)
    return;  // a copy of this result is being checked already
  const auto* t = st.alloc.running_task(a->task_key);
  uint32_t width = t != nullptr ? t->request->width() : 0;
  uint32_t height = t != nullptr ? t->request->height() : 0;
  // The checker only reads the bytes, and is done with them once it answers: they move back, never copied.
  auto image = std::make_shared<std::string>(std::move(*r.mutable_image()));
  auto checker = self->spawn(result_checker, std::shared_ptr<const std::string>{image}, width, height);
  auto rest = std::make_shared<v1::GenerationResult>(std::move(r));
  self->request(checker, caf::infinite, check_atom::value)
      .then(
          [self, worker, assignment, image, rest](const std::string& format) {
            self->state.checking.erase(assignment);
            rest->mutable_image()->swap(*image);
            rest->set_format(format);
            complete_result(self, worker, assignment, std::move(*rest));
          },
          [self, worker, assignment](const caf::error& e) {
            self->state.checking.erase(assignment);
            reject_result(self, worker, assignment, to_status(e));
          });
}

}  // namespace crowdiff::scheduler_detail
