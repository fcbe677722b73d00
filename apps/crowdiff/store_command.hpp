#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include "apps/crowdiff/command_line.hpp"
#include "crowdiff/v1/quarantine.pb.h"

namespace crowdiff::app {

/// `crowdiff store quarantine list` and `crowdiff store quarantine drop KEY...|--all` on the store in `dir`,
/// which no running core may hold (the store's lock refuses it, and this says so). `list` prints one line per
/// entry to `out` (see quarantine_line); `drop` removes the named entries, all or none, or every entry with
/// --all, and says how many went. Errors go to `err`. Returns the exit code: 0 done, 1 the store refused (no
/// store there, in use, an unknown key), 2 a usage error.
int run_store_command(const command_line& cli, const std::filesystem::path& dir, std::ostream& out,
                      std::ostream& err);

/// One listing line, tab-separated: quarantine key, source table, original key (hex), size in bytes, time
/// (UTC, ISO 8601), error.
std::string quarantine_line(const v1::QuarantineRecord& q);

}  // namespace crowdiff::app
