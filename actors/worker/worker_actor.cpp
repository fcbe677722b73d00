#include "actors/worker/worker_actor.hpp"

#include <caf/all.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/errors.hpp"
#include "actors/worker/worker_state.hpp"
#include "common/log.hpp"

namespace crowdiff {
namespace {

using self_ptr = worker_actor::stateful_pointer<worker_state>;

void start_next(self_ptr self);

void start(self_ptr self, v1::TaskSpec spec) {
  auto& st = self->state;
  st.current = worker_state::phase::generating;
  st.running_assignment = spec.assignment_id();
  st.cancel_flag = std::make_shared<std::atomic<bool>>(false);
  auto me = caf::actor_cast<worker_actor>(self);
  auto gen = st.options.gen;
  auto flag = st.cancel_flag;
  auto now = st.options.now;
  std::string name = st.options.name;
  st.thread->post([me, gen, flag, now, name, spec = std::move(spec)] {
    uint64_t assignment = spec.assignment_id();
    int64_t started = now();
    auto image = gen->generate(
        spec,
        [&](uint32_t step, uint32_t total) {
          caf::anon_send(me, progress_atom::value, assignment, step, total);
        },
        *flag);
    int64_t finished = now();
    if (!image) {
      caf::anon_send(me, fault_atom::value, assignment, to_error(image.error()));
      return;
    }
    v1::GenerationResult r;
    r.set_job_id(spec.job_id());
    r.set_image_index(spec.image_index());
    r.set_image(std::move(image->bytes));
    r.set_format(image->format);
    r.set_seed(spec.seed());
    r.set_model(spec.model());
    r.set_model_sha256(image->model_sha256);
    r.set_worker_name(name);
    r.set_started_ms(started);
    r.set_finished_ms(finished);
    r.set_generation_ms(static_cast<uint32_t>(std::max<int64_t>(finished - started, 1)));
    r.set_width(image->width);
    r.set_height(image->height);
    caf::anon_send(me, generated_atom::value, assignment, pb<v1::GenerationResult>{std::move(r)});
  });
}

// The generation thread finished (or gave up on) the running task.
void finished(self_ptr self) {
  auto& st = self->state;
  st.running_assignment = 0;
  st.cancel_flag.reset();
  if (st.current == worker_state::phase::draining) {
    if (st.worker_id != 0)
      self->send(st.options.scheduler, leave_atom::value, st.worker_id);
    log::info("worker_drained").kv("worker", st.worker_id).kv("name", st.options.name);
    self->quit();
    return;
  }
  st.current = worker_state::phase::idle;
  start_next(self);
}

void start_next(self_ptr self) {
  auto& st = self->state;
  if (st.current != worker_state::phase::idle || st.waiting.empty())
    return;
  auto spec = std::move(st.waiting.front());
  st.waiting.pop_front();
  start(self, std::move(spec));
}

void join(self_ptr self) {
  auto& st = self->state;
  auto reg = make_registration(st.options);
  self->request(st.options.scheduler, std::chrono::seconds(30), join_atom::value,
                pb<v1::WorkerRegistration>{reg}, caf::actor_cast<worker_actor>(self))
      .then(
          [self](uint64_t id) {
            auto& s = self->state;
            s.worker_id = id;
            if (s.current == worker_state::phase::joining)
              s.current = worker_state::phase::idle;
            log::info("worker_joined").kv("worker", id).kv("name", s.options.name);
            start_next(self);
          },
          [self](const caf::error& e) {
            log::error("worker_join_failed").kv("name", self->state.options.name).kv("error", to_string(e));
            self->quit(e);
          });
}

}  // namespace

v1::WorkerRegistration make_registration(const worker_options& options) {
  v1::WorkerRegistration reg;
  reg.set_name(options.name);
  reg.set_owner_user_id(options.owner_user_id);
  for (auto& m : options.gen->models())
    *reg.add_models() = std::move(m);
  reg.set_max_pixels(options.gen->max_pixels());
  for (auto& f : options.gen->features())
    reg.add_features(std::move(f));
  reg.set_nsfw(options.nsfw);
  reg.set_device(options.gen->device());
  reg.set_mps_per_s(options.mps_per_s);
  reg.set_slots(1);
  reg.set_version(options.version);
  return reg;
}

worker_actor::behavior_type worker_fn(self_ptr self, worker_options options) {
  self->state.options = std::move(options);
  join(self);
  return {
      [self](run_atom, pb<v1::TaskSpec>& spec) {
        auto& st = self->state;
        if (st.current == worker_state::phase::draining) {
          // Hand it back at once so it runs elsewhere.
          self->send(st.options.scheduler, fault_atom::value, st.worker_id, spec.value.assignment_id(),
                     make_error(errc::unavailable, "the worker is not taking work"));
          return;
        }
        st.waiting.push_back(std::move(spec.value));
        start_next(self);
      },
      [self](cancel_atom, uint64_t assignment) {
        auto& st = self->state;
        if (assignment == st.running_assignment && st.cancel_flag) {
          st.cancel_flag->store(true);
          log::debug("task_cancel").kv("worker", st.worker_id).kv("assignment", assignment);
          return;
        }
        std::erase_if(st.waiting, [&](const v1::TaskSpec& t) { return t.assignment_id() == assignment; });
      },
      [self](drain_atom) {
        auto& st = self->state;
        for (const auto& t : st.waiting)
          self->send(st.options.scheduler, fault_atom::value, st.worker_id, t.assignment_id(),
                     make_error(errc::unavailable, "the worker is draining"));
        st.waiting.clear();
        bool busy = st.current == worker_state::phase::generating;
        st.current = worker_state::phase::draining;
        if (!busy) {
          if (st.worker_id != 0)
            self->send(st.options.scheduler, leave_atom::value, st.worker_id);
          self->quit();
        }
      },
      [self](generated_atom, uint64_t assignment, pb<v1::GenerationResult>& result) {
        auto& st = self->state;
        if (assignment != st.running_assignment)
          return;
        bool cancelled = st.cancel_flag && st.cancel_flag->load();
        if (!cancelled)
          self->send(st.options.scheduler, result_atom::value, st.worker_id, assignment, std::move(result));
        finished(self);
      },
      [self](fault_atom, uint64_t assignment, const caf::error& fault) {
        auto& st = self->state;
        if (assignment != st.running_assignment)
          return;
        auto why = to_status(fault);
        bool cancelled = (st.cancel_flag && st.cancel_flag->load()) || why.code() == errc::cancelled;
        if (!cancelled) {
          log::warning("generation_fault").kv("worker", st.worker_id).kv("error", why.to_string());
          self->send(st.options.scheduler, fault_atom::value, st.worker_id, assignment, fault);
        }
        finished(self);
      },
      [self](progress_atom, uint64_t assignment, uint32_t step, uint32_t total) {
        auto& st = self->state;
        if (assignment != st.running_assignment || (st.cancel_flag && st.cancel_flag->load()))
          return;
        self->send(st.options.scheduler, progress_atom::value, st.worker_id, assignment, step, total);
      },
      [](tick_atom) {},
  };
}

}  // namespace crowdiff
