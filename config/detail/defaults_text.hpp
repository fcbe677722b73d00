#pragma once

#include <string_view>

namespace crowdiff::config::detail {

/// config/defaults.textproto as compiled in (generated from config/detail/defaults_text.cpp.in).
std::string_view defaults_text();

}  // namespace crowdiff::config::detail
