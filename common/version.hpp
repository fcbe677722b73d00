#pragma once

// crowdiff's version: the one in the top-level CMakeLists.txt (`project(crowdiff VERSION ...)`), compiled
// into common/version.cpp alone (a new version rebuilds one file). Agents, heartbeats and headers that name
// the version read it here.

#include <string_view>

namespace crowdiff {

/// "0.1.0".
std::string_view version();

}  // namespace crowdiff
