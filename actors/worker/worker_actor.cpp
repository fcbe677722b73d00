#include "actors/worker/worker_actor.hpp"

#include <caf/all.hpp>

#include "actors/scheduler/features.hpp"
#include "actors/worker/worker_state.hpp"
#include "common/log.hpp"
#include "protocol/errors.hpp"

namespace crowdiff {
namespace {

using self_ptr = worker_impl_actor::stateful_pointer<worker_state>;
using behavior = worker_impl_actor::behavior_type;

// The lifecycle, one behaviour each:
// - joining: no endpoint yet, or not yet joined. Tasks pushed meanwhile wait; a result finished meanwhile is
//   kept and delivered after the join; progress and faults are dropped (the core requeued what it had pushed
//   to the lost session).
// - serving: joined. Tasks run one after another; results, faults and progress go to the endpoint.
// - draining: finishing the running task, refusing new ones, then leaving and quitting.
behavior joining(self_ptr self);
behavior serving(self_ptr self);
behavior draining(self_ptr self);
void connect(self_ptr self);

void start(self_ptr self, v1::TaskSpec spec) {
  auto& st = self->state;
  st.running_assignment = spec.assignment_id();
  st.cancel_flag = std::make_shared<std::atomic<bool>>(false);
  auto me = caf::actor_cast<worker_impl_actor>(self);
  auto gen = st.options.gen;
  auto flag = st.cancel_flag;
  auto now = st.options.now;
  std::string name = st.options.name;
  st.runner->post([me, gen, flag, now, name, spec = std::move(spec)] {
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

void leave_and_quit(self_ptr self) {
  auto& st = self->state;
  if (st.endpoint && st.worker_id != 0)
    self->send(st.endpoint, leave_atom::value, st.worker_id);
  log::info("worker_drained").kv("worker", st.worker_id).kv("name", st.options.name);
  self->quit();
}

// The generation thread finished (or gave up on) the running task.
void finished(self_ptr self) {
  self->state.running_assignment = 0;
  self->state.cancel_flag.reset();
}

// Serving: the next waiting task starts when none runs.
void start_next(self_ptr self) {
  auto& st = self->state;
  if (st.running_assignment != 0 || st.waiting.empty())
    return;
  auto spec = std::move(st.waiting.front());
  st.waiting.pop_front();
  start(self, std::move(spec));
}

bool cancelled(const worker_state& st) {
  return st.cancel_flag && st.cancel_flag->load();
}

// Whether `assignment` is the running task; anything else is a stale report.
bool running(const worker_state& st, uint64_t assignment) {
  return assignment != 0 && assignment == st.running_assignment;
}

void stop_task(self_ptr self, uint64_t assignment) {
  auto& st = self->state;
  if (running(st, assignment) && st.cancel_flag) {
    st.cancel_flag->store(true);
    log::debug("task_cancel").kv("worker", st.worker_id).kv("assignment", assignment);
    return;
  }
  std::erase_if(st.waiting, [&](const v1::TaskSpec& t) { return t.assignment_id() == assignment; });
}

void refuse(self_ptr self, uint64_t assignment) {
  auto& st = self->state;
  if (st.endpoint)
    self->send(st.endpoint, fault_atom::value, st.worker_id, assignment,
               make_error(errc::unavailable, "the worker is draining"));
}

// Sends a finished image to the endpoint (joined), unless its task was cancelled.
void deliver(self_ptr self, uint64_t assignment, pb<v1::GenerationResult>& result) {
  auto& st = self->state;
  if (!cancelled(st) && st.endpoint)
    self->send(st.endpoint, result_atom::value, st.worker_id, assignment, std::move(result));
}

// Reports a generation fault to the endpoint (joined), unless the task was cancelled.
void report_fault(self_ptr self, uint64_t assignment, const caf::error& fault) {
  auto& st = self->state;
  auto why = to_status(fault);
  if (cancelled(st) || why.code() == errc::cancelled || !st.endpoint)
    return;
  log::warning("generation_fault").kv("worker", st.worker_id).kv("error", why.to_string());
  self->send(st.endpoint, fault_atom::value, st.worker_id, assignment, fault);
}

void report_progress(self_ptr self, uint64_t assignment, uint32_t step, uint32_t total) {
  auto& st = self->state;
  if (running(st, assignment) && !cancelled(st) && st.endpoint)
    self->send(st.endpoint, progress_atom::value, st.worker_id, assignment, step, total);
}

// Drain: tasks waiting here go back to the core, the running one finishes, then the worker leaves.
void drain(self_ptr self) {
  auto& st = self->state;
  for (const auto& t : st.waiting)
    refuse(self, t.assignment_id());
  st.waiting.clear();
  st.draining = true;
  if (st.running_assignment == 0) {
    leave_and_quit(self);
    return;
  }
  self->become(draining(self));
}

void join(self_ptr self) {
  auto& st = self->state;
  auto reg = make_registration(st.options);
  self->request(st.endpoint, std::chrono::seconds(60), join_atom::value, pb<v1::WorkerRegistration>{reg},
                caf::actor_cast<worker_actor>(self))
      .then(
          [self](uint64_t id) {
            auto& s = self->state;
            s.worker_id = id;
            log::info("worker_joined").kv("worker", id).kv("name", s.options.name);
            for (auto& [assignment, result] : s.undelivered)
              self->send(s.endpoint, result_atom::value, id, assignment,
                         pb<v1::GenerationResult>{std::move(result)});
            s.undelivered.clear();
            if (s.draining)
              return;  // joined only to deliver and leave (see draining)
            self->become(serving(self));
            start_next(self);
          },
          [self](const caf::error& e) {
            auto why = to_status(e);
            log::error("worker_join_failed")
                .kv("name", self->state.options.name)
                .kv("error", why.to_string());
            // Bad registrations and bad keys do not get better by retrying.
            if (why.code() == errc::invalid_argument || why.code() == errc::unauthenticated ||
                why.code() == errc::permission_denied) {
              self->quit(e);
              return;
            }
            self->state.endpoint = nullptr;
            connect(self);
          });
}

// Asks the uplink for an endpoint (the uplink retries with backoff), then joins.
void connect(self_ptr self) {
  auto& st = self->state;
  self->request(st.options.uplink, caf::infinite, uplink_atom::value)
      .then(
          [self](worker_endpoint_actor& endpoint) {
            auto& s = self->state;
            s.endpoint = std::move(endpoint);
            self->monitor(s.endpoint);
            join(self);
          },
          [self](const caf::error& e) {
            log::error("worker_uplink_failed").kv("name", self->state.options.name).kv("error", to_string(e));
            self->quit(e);
          });
}

behavior joining(self_ptr self) {
  return {
      [self](run_atom, pb<v1::TaskSpec>& spec) { self->state.waiting.push_back(std::move(spec.value)); },
      [self](cancel_atom, uint64_t assignment) { stop_task(self, assignment); },
      [self](drain_atom) { drain(self); },
      [self](generated_atom, uint64_t assignment, pb<v1::GenerationResult>& result) {
        auto& st = self->state;
        if (!running(st, assignment))
          return;
        if (!cancelled(st))
          st.undelivered.emplace_back(assignment, std::move(result.value));
        finished(self);
      },
      [self](fault_atom, uint64_t assignment, const caf::error&) {
        if (running(self->state, assignment))
          finished(self);
      },
      [](progress_atom, uint64_t, uint32_t, uint32_t) {},
      [](tick_atom) {},
  };
}

behavior serving(self_ptr self) {
  return {
      [self](run_atom, pb<v1::TaskSpec>& spec) {
        self->state.waiting.push_back(std::move(spec.value));
        start_next(self);
      },
      [self](cancel_atom, uint64_t assignment) { stop_task(self, assignment); },
      [self](drain_atom) { drain(self); },
      [self](generated_atom, uint64_t assignment, pb<v1::GenerationResult>& result) {
        if (!running(self->state, assignment))
          return;
        deliver(self, assignment, result);
        finished(self);
        start_next(self);
      },
      [self](fault_atom, uint64_t assignment, const caf::error& fault) {
        if (!running(self->state, assignment))
          return;
        report_fault(self, assignment, fault);
        finished(self);
        start_next(self);
      },
      [self](progress_atom, uint64_t assignment, uint32_t step, uint32_t total) {
        report_progress(self, assignment, step, total);
      },
      [](tick_atom) {},
  };
}

behavior draining(self_ptr self) {
  return {
      [self](run_atom, pb<v1::TaskSpec>& spec) { refuse(self, spec.value.assignment_id()); },
      [self](cancel_atom, uint64_t assignment) { stop_task(self, assignment); },
      [](drain_atom) {},
      [self](generated_atom, uint64_t assignment, pb<v1::GenerationResult>& result) {
        if (!running(self->state, assignment))
          return;
        deliver(self, assignment, result);
        finished(self);
        leave_and_quit(self);
      },
      [self](fault_atom, uint64_t assignment, const caf::error& fault) {
        if (!running(self->state, assignment))
          return;
        report_fault(self, assignment, fault);
        finished(self);
        leave_and_quit(self);
      },
      [self](progress_atom, uint64_t assignment, uint32_t step, uint32_t total) {
        report_progress(self, assignment, step, total);
      },
      [](tick_atom) {},
  };
}

}  // namespace

v1::WorkerRegistration make_registration(const worker_options& options) {
  v1::WorkerRegistration reg;
  reg.set_name(options.name);
  reg.set_owner_user_id(options.owner_user_id);
  for (auto& m : options.gen->models())
    *reg.add_models() = std::move(m);
  reg.set_max_pixels(options.gen->max_pixels());
  for (auto& f : scheduling::feature_names(options.gen->features()))
    reg.add_features(std::move(f));
  reg.set_nsfw(options.nsfw);
  reg.set_device(options.gen->device());
  reg.set_mps_per_s(options.mps_per_s);
  reg.set_slots(options.slots);
  reg.set_version(options.version);
  return reg;
}

uplink_actor::behavior_type local_uplink_fn(scheduler_actor scheduler) {
  return {
      [scheduler](uplink_atom) -> worker_endpoint_actor { return scheduler; },
  };
}

worker_impl_actor::behavior_type worker_fn(self_ptr self, worker_options options) {
  self->state.options = std::move(options);
  self->state.runner =
      self->state.options.runner ? self->state.options.runner : std::make_shared<generation_thread>();
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    if (!st.endpoint || msg.source != st.endpoint.address())
      return;
    log::warning("worker_endpoint_lost").kv("worker", st.worker_id).kv("reason", to_string(msg.reason));
    st.endpoint = nullptr;
    if (st.draining) {
      self->quit();
      return;
    }
    // Tasks waiting here were requeued by the core when the session ended.
    st.waiting.clear();
    self->become(joining(self));
    connect(self);
  });
  connect(self);
  return joining(self);
}

}  // namespace crowdiff
