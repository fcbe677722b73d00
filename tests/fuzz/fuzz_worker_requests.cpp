// The other AI Horde request bodies: a pop, a submit, a worker's changes, a kudos transfer. Each is parsed
// from the same bytes (bounded JSON first); whatever is accepted is within its documented ranges.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/utf8.hpp"
#include "gateway/bounded_json.hpp"
#include "gateway/horde_requests.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crowdiff::gateway;
  auto body = parse_bounded_json(std::string_view(reinterpret_cast<const char*>(data), size), {32, 10'000});
  if (!body)
    return 0;
  crowdiff::v1::WorkerRegistration reg;
  field_errors errors;
  if (parse_pop(*body, 7, reg, errors)) {
    if (reg.models_size() < 1 || reg.models_size() > 256 || reg.slots() < 1 || reg.slots() > 50 ||
        !crowdiff::valid_utf8(reg.device()))
      __builtin_trap();
  }
  submit_input submit;
  errors.clear();
  if (parse_submit(*body, submit, errors) && !submit.image)
    __builtin_trap();
  worker_changes changes;
  errors.clear();
  if (parse_worker_changes(*body, changes, errors) && !changes.maintenance && !changes.info)
    __builtin_trap();
  transfer_input transfer;
  errors.clear();
  if (parse_transfer(*body, transfer, errors) &&
      (transfer.amount_mk <= 0 || transfer.amount_mk > 1'000'000'000'000'000))
    __builtin_trap();
  return 0;
}
