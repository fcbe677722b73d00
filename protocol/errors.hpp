#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/message.hpp>

#include "common/status.hpp"

// crowdiff's errc is CAF's error code enum for category "crowdiff": `caf::error{errc::not_found, "..."}`.
CAF_ERROR_CODE_ENUM(crowdiff::errc, "crowdiff")

namespace crowdiff {

/// The error every actor returns: our code, with a message for people.
caf::error make_error(errc code, std::string message);

/// A status as an actor error (ok becomes the empty error).
caf::error to_error(const status& s);

/// An actor error as a status; errors of other categories (CAF's own: a dead actor, a timeout) map onto
/// the nearest errc and keep CAF's rendering as the message.
status to_status(const caf::error& e);

}  // namespace crowdiff
