// The broker's jobs in the store, the job book's effects carried out, recovery.
#include <caf/all.hpp>
#include <sodium.h>

#include "actors/broker/detail/broker_internals.hpp"
#include "actors/broker/job_status.hpp"
#include "common/log.hpp"
#include "persistence/job_table.hpp"
#include "persistence/ledger_book.hpp"
#include "persistence/meta_table.hpp"
#include "persistence/quarantine_table.hpp"
#include "persistence/result_table.hpp"
#include "persistence/worker_table.hpp"
#include "protocol/errors.hpp"

namespace crowdiff::broker_detail {

using persistence::job_table;

std::string state_name(v1::JobState s) {
  auto name = v1::JobState_Name(s);
  for (auto& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

void log_state(const broker::state_change& change) {
  auto line = log::info("job_state");
  line.kv("job", change.job.to_string())
      .kv("user", change.user)
      .kv("from", state_name(change.from))
      .kv("to", state_name(change.to))
      .kv("images", change.images);
  if (change.to == v1::FAILED)
    line.kv("reason", change.reason);
}

// Read-modify-write of a stored job through the group-commit queue; `then` runs in the actor with the record
// as committed.
void update_job(self_ptr self, const uuid& id, mutation m,
                std::function<void(const status&, v1::JobRecord&)> then) {
  auto out = std::make_shared<v1::JobRecord>();
  auto& st = self->state;
  st.writes.submit(
      *st.options.store, caf::actor_cast<broker_actor>(self),
      [id, m = std::move(m), out](persistence::write_txn& txn) -> status {
        auto rec = job_table::get(txn, id);
        if (!rec)
          return rec.error();
        if (!rec->has_value())
          return status{errc::not_found, "no job " + id.to_string()};
        v1::JobRecord r = std::move(**rec);
        CROWDIFF_RETURN_IF_ERROR(m(r, txn));
        CROWDIFF_RETURN_IF_ERROR(job_table::put(txn, r));
        *out = std::move(r);
        return status::ok();
      },
      [then = std::move(then), out](const status& s) { then(s, *out); });
}

void carry_out(self_ptr self, const uuid& id, broker::book_effects effects,
               const v1::GenerationResult* image) {
  auto& st = self->state;
  // The log line first: whoever hears of a change may look for it.
  if (effects.changed)
    log_state(*effects.changed);
  if (auto it = st.subscribers.find(id); it != st.subscribers.end()) {
    for (auto& n : effects.notices) {
      pb<v1::JobEvent> event{std::move(n.event)};
      for (const auto& sub : it->second)
        caf::anon_send(sub, event_atom::value, event);
      if (n.with_image && image != nullptr) {
        pb<v1::GenerationResult> copy{*image};  // megabytes: copied only when someone listens
        for (const auto& sub : it->second)
          caf::anon_send(sub, image_atom::value, copy);
      }
    }
  }
  if (effects.ended)
    st.subscribers.erase(id);
}

void adopt(self_ptr self, const uuid& id, v1::JobRecord& record) {
  carry_out(self, id, self->state.book.adopt(id, std::move(record)));
}

result<v1::JobStatus> stored_status(self_ptr self, const uuid& id) {
  auto txn = self->state.options.store->read();
  if (!txn)
    return txn.error();
  auto rec = job_table::get(**txn, id);
  if (!rec)
    return rec.error();
  if (!rec->has_value())
    return status{errc::not_found, "no job " + id.to_string()};
  return broker::make_status(**rec, {}, nullptr);
}

void enqueue(self_ptr self, const v1::JobRecord& record) {
  self->request(self->state.options.scheduler, caf::infinite, enqueue_atom::value, pb<v1::JobRecord>{record})
      .then([](const queue_estimate&) {},
            [id = record.id()](const caf::error& e) {
              log::error("enqueue_failed")
                  .kv("job", uuid::from_bytes(id)->to_string())
                  .kv("error", to_string(e));
            });
}

uint64_t random_seed() {
  uint32_t s = 0;
  randombytes_buf(&s, sizeof s);
  return s;
}

void quarantine(self_ptr self, std::string_view scan, std::vector<persistence::bad_record> bad) {
  if (bad.empty())
    return;
  auto& st = self->state;
  auto records = std::make_shared<std::vector<persistence::bad_record>>(std::move(bad));
  auto ids = std::make_shared<std::vector<std::optional<uint64_t>>>();
  int64_t now = st.options.now();
  st.writes.submit(
      *st.options.store, caf::actor_cast<broker_actor>(self),
      [records, ids, now](persistence::write_txn& txn) -> status {
        auto moved = persistence::quarantine_table::move_aside(txn, *records, now);
        if (!moved)
          return moved.error();
        *ids = std::move(*moved);
        return status::ok();
      },
      [scan = std::string(scan), records, ids](const status& s) {
        persistence::log_moved_aside(scan, *records, *ids, s);
      });
}

void recover(self_ptr self) {
  auto& st = self->state;
  auto txn = st.options.store->read();
  if (!txn) {
    log::error("recovery_failed").kv("error", txn.error().to_string());
    return;
  }
  auto seq = persistence::read_counter(**txn, persistence::meta_keys::next_job_sequence);
  st.next_sequence = seq ? *seq : 0;
  for (const auto& m : st.options.config.models())
    st.catalog.insert(m);
  // What cannot be decoded is skipped here and moved aside below, so one bad record never costs the others.
  // Stored workers count in the totals; their models join the catalog only when they are back online.
  std::vector<persistence::bad_record> bad;
  auto ws = persistence::worker_table::scan(
      **txn,
      [&](v1::WorkerRecord& w) {
        st.delivered.add_lifetime(w.images_done(), w.megapixel_steps_done() * 1e6);
        return true;
      },
      persistence::collect_into(bad));
  if (!ws)
    log::error("recovery_failed").kv("error", ws.to_string());
  size_t recovered = 0;
  for (auto state : {v1::QUEUED, v1::RUNNING}) {
    auto s = job_table::scan_state(
        **txn, state,
        [&](v1::JobRecord& r) {
          auto id = uuid::from_bytes(r.id());
          if (!id)
            return true;
          st.book.restore(*id, std::move(r));
          ++recovered;
          return true;
        },
        persistence::collect_into(bad));
    if (!s)
      log::error("recovery_failed").kv("error", s.to_string());
  }
  txn = status{errc::cancelled, "released"};
  // Everything acknowledged before a crash waits again, in its original order and priority.
  for (const auto& [id, job] : st.book.jobs())
    enqueue(self, job.record);
  log::info("broker_recovered")
      .kv("jobs", recovered)
      .kv("models", st.catalog.size())
      .kv("quarantined", bad.size());
  quarantine(self, "recovery", std::move(bad));
}

}  // namespace crowdiff::broker_detail
