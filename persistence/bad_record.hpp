#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "persistence/kv_store.hpp"

namespace crowdiff::persistence {

/// A stored entry a scan could not use: a value that does not decode, or an index entry that points at
/// nothing. It carries what is needed to move it aside (quarantine_table::move_aside) or to log it.
struct bad_record {
  table source = table::meta;  ///< the table it is in
  std::string key;             ///< its key there
  std::string bytes;           ///< its value there, unchanged
  std::string error;           ///< why it could not be used
  /// Index entries (table, key) that led the scan to it; they go with it, since they would point at nothing.
  std::vector<std::pair<table, std::string>> index_entries;
};

/// Receives the entries a scan skipped. Every table scan takes one as its last, optional argument: without it
/// a bad entry stops the scan, which returns the entry's error (strict); with it the entry is handed over,
/// skipped, and the scan goes on.
using bad_record_fn = std::function<void(bad_record)>;

/// Lower-case hex of `bytes`, for logs and the operator's listing.
std::string to_hex(std::string_view bytes);

/// Adds `bad`'s table, key (hex), size and error to a log line.
log::line& describe(log::line& line, const bad_record& bad);

/// A bad_record_fn that logs each entry (event `record_skipped`, with `scan` naming the caller) and skips it:
/// for scans that serve a request, where one unreadable record must not fail the whole answer.
bad_record_fn log_and_skip(std::string scan);

/// A bad_record_fn that appends each entry to `out` (which must outlive the scan), to move them aside after.
bad_record_fn collect_into(std::vector<bad_record>& out);

}  // namespace crowdiff::persistence
