#include "gateway/http_worker.hpp"

#include <deque>
#include <map>
#include <set>

#include <caf/all.hpp>

#include "actors/scheduler/result_check.hpp"
#include "common/log.hpp"
#include "gateway/horde_json.hpp"
#include "gateway/http_worker_state.hpp"
#include "protocol/errors.hpp"

namespace crowdiff::gateway {

namespace {

using self_ptr = http_worker_actor::stateful_pointer<http_worker_state>;

uuid image_of(const v1::TaskSpec& t) {
  return image_id(*uuid::from_bytes(t.job_id()), t.image_index());
}

// Hands pushed tasks to waiting pops.
void serve(self_ptr self) {
  auto& st = self->state;
  int64_t now = st.options.now();
  while (!st.pops.empty() && !st.pushed.empty()) {
    auto task = std::move(st.pushed.front().first);
    st.pushed.pop_front();
    auto deadline = now + 3 * task.estimated_ms() + 30'000;
    st.out[image_of(task)] = {task, deadline};
    auto pop = std::move(st.pops.front());
    st.pops.pop_front();
    pop.promise.deliver(std::vector<pb<v1::TaskSpec>>{pb<v1::TaskSpec>{std::move(task)}});
  }
}

// Whether two registrations offer the same models (in any order): a worker that loads another model pops
// with another list, often of the same length.
bool same_models(const v1::WorkerRegistration& a, const v1::WorkerRegistration& b) {
  std::set<std::string> left;
  std::set<std::string> right;
  for (const auto& m : a.models())
    left.insert(m.name());
  for (const auto& m : b.models())
    right.insert(m.name());
  return left == right;
}

void remember(std::set<uuid>& ids, std::deque<uuid>& order, const uuid& id) {
  if (!ids.insert(id).second)
    return;
  order.push_back(id);
  if (order.size() > 4096) {
    ids.erase(order.front());
    order.pop_front();
  }
}

void give_back(self_ptr self, uint64_t assignment, errc code, const std::string& why) {
  auto& st = self->state;
  self->send(st.options.scheduler, fault_atom::value, st.worker_id, assignment, make_error(code, why));
}

}  // namespace

http_worker_actor::behavior_type http_worker_fn(self_ptr self, http_worker_options options) {
  self->state.options = std::move(options);
  self->state.last_pop_ms = self->state.options.now();
  self->delayed_send(self, std::chrono::milliseconds(100), tick_atom::value);
  return {
      [self](pop_atom, pb<v1::WorkerRegistration>& reg,
             uint32_t wait_ms) -> caf::result<std::vector<pb<v1::TaskSpec>>> {
        auto& st = self->state;
        int64_t now = st.options.now();
        st.last_pop_ms = now;
        bool changed = st.worker_id != 0 && !same_models(reg.value, st.registration);
        st.registration = reg.value;
        if (st.worker_id == 0 && !st.joining) {
          st.joining = true;
          self->request(st.options.scheduler, std::chrono::seconds(30), join_atom::value, reg,
                        caf::actor_cast<worker_actor>(self))
              .then(
                  [self](uint64_t id) {
                    self->state.worker_id = id;
                    self->state.joining = false;
                    serve(self);
                  },
                  [self](const caf::error& e) {
                    self->state.joining = false;
                    for (auto& p : self->state.pops)
                      p.promise.deliver(e);
                    self->state.pops.clear();
                    self->quit(e);
                  });
        } else if (changed) {
          self->send(st.options.scheduler, models_atom::value, st.worker_id, reg);
        }
        auto rp = self->make_response_promise<std::vector<pb<v1::TaskSpec>>>();
        st.pops.push_back({rp, now + wait_ms});
        serve(self);
        return rp;
      },
      [self](result_atom, const uuid& image, pb<v1::GenerationResult>& result) -> caf::result<int64_t> {
        auto& st = self->state;
        if (st.submitted.count(image) != 0)
          return make_error(errc::already_exists, "this image was submitted already");
        auto it = st.out.find(image);
        if (it == st.out.end()) {
          if (st.expired.count(image) != 0)
            return make_error(errc::deadline_exceeded, "this image was not submitted in time");
          return make_error(errc::not_found, "no such job for this worker");
        }
        auto spec = std::move(it->second.spec);
        st.out.erase(it);
        remember(st.submitted, st.submitted_order, image);
        if (result.value.image().empty()) {
          give_back(self, spec.assignment_id(), errc::generation_failed, "the worker reported a fault");
          return int64_t{0};
        }
        auto& r = result.value;
        r.set_job_id(spec.job_id());
        r.set_image_index(spec.image_index());
        r.set_model(spec.model());
        r.set_worker_name(st.registration.name());
        // Checked here too, to tell the worker why; the Scheduler's own check decides, pays nothing for a
        // bad image and records it against the worker.
        auto checked = scheduling::check_result(r.image(), spec.request().width(), spec.request().height());
        self->send(st.options.scheduler, result_atom::value, st.worker_id, spec.assignment_id(),
                   std::move(result));
        if (!checked)
          return to_error(checked.error());
        return spec.value_mk();
      },
      [self](run_atom, pb<v1::TaskSpec>& spec) {
        // A task sent before the scheduler saw this worker leave: the leave already put it back in the queue.
        if (self->state.worker_id == 0 && !self->state.joining)
          return;
        self->state.pushed.emplace_back(std::move(spec.value), self->state.options.now());
        serve(self);
      },
      [self](cancel_atom, uint64_t assignment) {
        auto& st = self->state;
        std::erase_if(st.pushed, [&](const auto& p) { return p.first.assignment_id() == assignment; });
        std::erase_if(st.out, [&](const auto& p) { return p.second.spec.assignment_id() == assignment; });
      },
      [self](drain_atom) {
        auto& st = self->state;
        for (const auto& [task, at] : st.pushed)
          give_back(self, task.assignment_id(), errc::unavailable, "draining");
        st.pushed.clear();
        if (st.worker_id != 0)
          self->send(st.options.scheduler, leave_atom::value, st.worker_id);
        self->quit();
      },
      [self](tick_atom) {
        auto& st = self->state;
        int64_t now = st.options.now();
        // Pops that waited long enough get an empty answer.
        while (!st.pops.empty() && st.pops.front().until_ms <= now) {
          st.pops.front().promise.deliver(std::vector<pb<v1::TaskSpec>>{});
          st.pops.pop_front();
        }
        // Tasks nobody popped, and popped tasks past their deadline, run elsewhere.
        auto limit = st.options.unpopped_limit.count();
        if (!st.pushed.empty() && now - st.pushed.front().second > limit && st.pops.empty() &&
            st.out.empty() && st.worker_id != 0) {
          // The worker stopped popping and holds nothing: it leaves, so the scheduler stops handing it tasks
          // (each would wait here in vain, then come back as a fault that bars this worker from it), and
          // joins again on its next pop. Its tasks go back to the queue and may come back to it.
          log::info("http_worker_idle").kv("worker", st.worker_id).kv("tasks", st.pushed.size());
          self->send(st.options.scheduler, leave_atom::value, st.worker_id);
          st.worker_id = 0;
          st.pushed.clear();
        }
        while (!st.pushed.empty() && now - st.pushed.front().second > limit) {
          give_back(self, st.pushed.front().first.assignment_id(), errc::unavailable,
                    "the worker stopped popping");
          st.pushed.pop_front();
        }
        for (auto it = st.out.begin(); it != st.out.end();) {
          if (now > it->second.deadline_ms) {
            log::warning("http_job_expired")
                .kv("worker", st.worker_id)
                .kv("assignment", it->second.spec.assignment_id());
            give_back(self, it->second.spec.assignment_id(), errc::deadline_exceeded,
                      "the worker did not submit in time");
            remember(st.expired, st.expired_order, it->first);
            it = st.out.erase(it);
          } else {
            ++it;
          }
        }
        if (now - st.last_pop_ms > st.options.idle_limit.count() && st.out.empty() && st.pops.empty()) {
          if (st.worker_id != 0)
            self->send(st.options.scheduler, leave_atom::value, st.worker_id);
          self->quit();
          return;
        }
        self->delayed_send(self, std::chrono::milliseconds(100), tick_atom::value);
      },
  };
}

}  // namespace crowdiff::gateway
