#include "actors/broker/job_transitions.hpp"

#include <algorithm>

#include "actors/broker/job_status.hpp"
#include "models/sampling/sampler_table.hpp"

namespace crowdiff::broker {

v1::JobRecord accepted_record(v1::JobRequest request, const v1::KudosQuote& quote, const acceptance& a) {
  if (a.anonymous)
    request.clear_idempotency_key();
  if (!request.has_seed())
    request.set_seed(a.random_seed);
  if (request.sampler() == v1::SAMPLER_UNSPECIFIED)
    request.set_sampler(static_cast<v1::Sampler>(models::default_sampler.wire));
  v1::JobRecord record;
  record.set_id(a.id.to_bytes());
  record.set_owner_user_id(a.owner);
  record.set_anonymous(a.anonymous);
  *record.mutable_request() = std::move(request);
  record.set_state(v1::QUEUED);
  record.set_created_ms(a.now_ms);
  record.set_updated_ms(a.now_ms);
  record.set_sequence(a.sequence);
  record.set_base_priority(a.priority);
  *record.mutable_quote() = quote;
  const uint64_t spacing = std::max<uint32_t>(record.request().seed_variation(), 1);
  for (uint32_t i = 0; i < record.request().n(); ++i) {
    auto* slot = record.add_images();
    slot->set_state(v1::IMAGE_PENDING);
    slot->set_seed(record.request().seed() + i * spacing);
  }
  uint64_t expiry_s = record.request().expiry_s() != 0 ? record.request().expiry_s() : a.default_expiry_s;
  record.set_expires_ms(a.now_ms + static_cast<int64_t>(expiry_s) * 1000);
  return record;
}

void resolve(v1::JobRecord& record, int64_t now_ms) {
  bool any_failed = false;
  bool any_cancelled = false;
  for (const auto& slot : record.images()) {
    switch (slot.state()) {
      case v1::IMAGE_DONE:
        break;
      case v1::IMAGE_FAILED:
        any_failed = true;
        break;
      case v1::IMAGE_CANCELLED:
        any_cancelled = true;
        break;
      default:
        return;
    }
  }
  record.set_state(any_failed ? v1::FAILED : any_cancelled ? v1::CANCELLED : v1::DONE);
  record.set_finished_ms(now_ms);
  if (any_failed && record.failure_reason().empty()) {
    for (const auto& slot : record.images()) {
      if (slot.state() == v1::IMAGE_FAILED) {
        record.set_failure_code(slot.failure_code());
        record.set_failure_reason(slot.failure_reason());
        break;
      }
    }
  }
}

status cancel(v1::JobRecord& record, int64_t now_ms) {
  if (is_terminal(record.state()))
    return status::ok();
  for (auto& slot : *record.mutable_images())
    if (slot.state() == v1::IMAGE_PENDING || slot.state() == v1::IMAGE_RUNNING)
      slot.set_state(v1::IMAGE_CANCELLED);
  record.set_state(v1::CANCELLED);
  record.set_finished_ms(now_ms);
  record.set_updated_ms(now_ms);
  return status::ok();
}

status check_open(const v1::JobRecord& record, uint32_t index) {
  if (is_terminal(record.state()))
    return status{errc::failed_precondition, "the job has ended"};
  if (index >= static_cast<uint32_t>(record.images_size()))
    return status{errc::invalid_argument, "the job has " + std::to_string(record.images_size()) + " images"};
  auto state = record.images(static_cast<int>(index)).state();
  if (state != v1::IMAGE_PENDING && state != v1::IMAGE_RUNNING)
    return status{errc::already_exists, "the image has an outcome already"};
  return status::ok();
}

void record_delivery(v1::JobRecord& record, uint32_t index, uint64_t worker,
                     const persistence::settlement& paid, int64_t now_ms) {
  auto& slot = *record.mutable_images(static_cast<int>(index));
  slot.set_state(v1::IMAGE_DONE);
  slot.set_worker_id(worker);
  slot.set_charged_mk(paid.charged_mk);
  slot.set_credited_mk(paid.credited_mk);
  if (record.state() == v1::QUEUED)
    record.set_state(v1::RUNNING);
  record.set_updated_ms(now_ms);
  resolve(record, now_ms);
}

status record_failure(v1::JobRecord& record, uint32_t index, errc code, const std::string& reason,
                      int64_t now_ms) {
  CROWDIFF_RETURN_IF_ERROR(check_open(record, index));
  auto& slot = *record.mutable_images(static_cast<int>(index));
  slot.set_state(v1::IMAGE_FAILED);
  slot.set_failure_code(static_cast<uint32_t>(code));
  slot.set_failure_reason(reason);
  record.set_updated_ms(now_ms);
  resolve(record, now_ms);
  return status::ok();
}

}  // namespace crowdiff::broker
