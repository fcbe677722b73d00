#include "apps/crowdiff/local_generators.hpp"

#include "persistence/user_table.hpp"

namespace crowdiff::app {

result<std::vector<named_generator>> local_generators(const command_line& cli, const v1::NodeConfig&) {
  std::vector<named_generator> out;
  if (auto model = cli.get("model"))
    return status{errc::unsupported, "cannot load '" + *model + "': this build has no diffusion pipeline backend"};
  return out;
}

uint64_t local_owner(persistence::store& store) {
  uint64_t owner = 0;
  auto txn = store.read();
  if (!txn) return 0;
  auto s = persistence::user_table::scan(**txn, [&](v1::UserRecord& u) {
    if (u.admin()) owner = u.id();
    return owner == 0;
  });
  (void)s;
  return owner;
}

}  // namespace crowdiff::app
