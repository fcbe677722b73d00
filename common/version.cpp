#include "common/version.hpp"

namespace crowdiff {

std::string_view version() {
  return CROWDIFF_VERSION;  // from CMake: common/CMakeLists.txt
}

}  // namespace crowdiff
