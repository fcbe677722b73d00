#include "protocol/errors.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace crowdiff {

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), caf::atom("crowdiff"), caf::make_message(std::move(message))};
}

caf::error to_error(const status& s) {
  if (s.is_ok())
    return caf::error{};
  return make_error(s.code(), s.message());
}

status to_status(const caf::error& e) {
  if (!e)
    return status::ok();
  if (e.category() == caf::atom("crowdiff")) {
    std::string message;
    const auto& ctx = e.context();
    if (ctx.size() == 1 && ctx.match_element<std::string>(0))
      message = ctx.get_as<std::string>(0);
    return status{static_cast<errc>(e.code()), std::move(message)};
  }
  errc code = errc::internal;
  if (e.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(e.code())) {
      case caf::sec::request_timeout:
        code = errc::deadline_exceeded;
        break;
      case caf::sec::request_receiver_down:
      case caf::sec::cannot_connect_to_node:
      case caf::sec::no_actor_published_at_port:
        code = errc::unavailable;
        break;
      case caf::sec::unexpected_message:
        code = errc::invalid_argument;
        break;
      default:
        break;
    }
  }
  return status{code, to_string(e)};
}

}  // namespace crowdiff
