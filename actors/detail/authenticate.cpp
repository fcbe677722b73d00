#include "actors/detail/authenticate.hpp"

#include "common/api_key.hpp"
#include "persistence/user_table.hpp"

namespace crowdiff::detail {

result<principal> authenticate(persistence::store& store, std::string_view api_key) {
  if (!plausible_api_key(api_key))
    return status{errc::unauthenticated, "missing or malformed API key"};
  auto txn = store.read();
  if (!txn)
    return txn.error();
  auto user = persistence::user_table::find_by_key_hash(**txn, hash_api_key(api_key));
  if (!user)
    return user.error();
  if (!user->has_value())
    return status{errc::unauthenticated, "unknown API key"};
  return principal{(*user)->id(), (*user)->anonymous(), (*user)->name()};
}

}  // namespace crowdiff::detail
