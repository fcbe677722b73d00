#include "common/status.hpp"

#include <ostream>

namespace crowdiff {

std::string_view to_string(errc code) {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::not_found:
      return "not_found";
    case errc::already_exists:
      return "already_exists";
    case errc::unauthenticated:
      return "unauthenticated";
    case errc::permission_denied:
      return "permission_denied";
    case errc::insufficient_kudos:
      return "insufficient_kudos";
    case errc::failed_precondition:
      return "failed_precondition";
    case errc::resource_exhausted:
      return "resource_exhausted";
    case errc::unavailable:
      return "unavailable";
    case errc::cancelled:
      return "cancelled";
    case errc::deadline_exceeded:
      return "deadline_exceeded";
    case errc::io_error:
      return "io_error";
    case errc::corruption:
      return "corruption";
    case errc::store_locked:
      return "store_locked";
    case errc::generation_failed:
      return "generation_failed";
    case errc::internal:
      return "internal";
    case errc::unsupported:
      return "unsupported";
  }
  return "unknown_error";
}

std::ostream& operator<<(std::ostream& out, errc code) {
  return out << to_string(code);
}

std::string status::to_string() const {
  if (is_ok())
    return "ok";
  std::string out{crowdiff::to_string(code_)};
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

status& status::with_context(std::string_view context) {
  if (!is_ok())
    message_ = std::string(context) + ": " + message_;
  return *this;
}

}  // namespace crowdiff
