#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "persistence/store.hpp"

namespace crowdiff::detail {

/// Who an API key belongs to.
struct principal {
  uint64_t user_id = 0;
  bool anonymous = false;
  std::string name;
};

/// Looks the key up by its hash. unauthenticated for an implausible or unknown key.
result<principal> authenticate(persistence::store& store, std::string_view api_key);

}  // namespace crowdiff::detail
