// A `POST /v2/generate/async` body: bounded JSON, then the AI Horde fields into a job request with per-field
// errors. Whatever it accepts is valid UTF-8 and can be written back as JSON.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/utf8.hpp"
#include "gateway/bounded_json.hpp"
#include "gateway/horde_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crowdiff::gateway;
  auto body = parse_bounded_json(std::string_view(reinterpret_cast<const char*>(data), size), {32, 10'000});
  if (!body)
    return 0;
  (void)write_json(*body);
  generate_input in;
  field_errors errors;
  if (!parse_generate(*body, in, errors)) {
    (void)error_body("Input payload validation failed", "ValidationError", errors);
    return 0;
  }
  if (!crowdiff::valid_utf8(in.request.prompt()) || !crowdiff::valid_utf8(in.request.negative_prompt()))
    __builtin_trap();
  for (const auto& m : in.request.models())
    if (!crowdiff::valid_utf8(m))
      __builtin_trap();
  return 0;
}
