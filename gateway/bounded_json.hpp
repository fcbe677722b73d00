#pragma once

// JSON from outside, parsed with limits checked while parsing: a body nested 100,000 deep or holding millions
// of tiny values is refused at the first value past the limit, before it costs stack or memory.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.hpp"

namespace crowdiff::gateway {

struct json_limits {
  size_t max_depth = 32;        ///< arrays and objects inside each other
  size_t max_values = 100'000;  ///< values of any kind in the document (keys not counted)
};

/// Parses `text` as one JSON document (strings are checked as UTF-8 by the parser). invalid_argument saying
/// what is wrong (a syntax error and where, nesting past the limit, too many values) otherwise; never throws.
result<nlohmann::json> parse_bounded_json(std::string_view text, const json_limits& limits);

/// `value` as JSON text; a string that is not UTF-8 is written with U+FFFD for the bad bytes: never throws.
std::string write_json(const nlohmann::json& value);

}  // namespace crowdiff::gateway
