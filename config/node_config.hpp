#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "crowdiff/v1/config.pb.h"

namespace crowdiff::config {

/// The defaults table: config/defaults.textproto, compiled in. The one home of every default.
const v1::NodeConfig& defaults();

/// The configuration with every unset (zero or empty) field given its value from the defaults table.
v1::NodeConfig with_defaults(v1::NodeConfig config);

/// Checks ranges and names; invalid_argument naming the field for anything out of range.
status validate(const v1::NodeConfig& config);

/// Parses Protobuf text format (unknown fields are errors, with line and column).
result<v1::NodeConfig> parse_text(const std::string& text);

/// Reads and parses a config file; not_found when it does not exist.
result<v1::NodeConfig> load_file(const std::filesystem::path& path);

/// Applies `--field.path=value` overrides (e.g. `--store.directory=/data`, `--log_level=debug`). Field
/// names are the proto's; repeated fields take comma-separated values. invalid_argument for unknown
/// fields or bad values.
status apply_overrides(v1::NodeConfig& config, const std::vector<std::string>& overrides);

/// The configuration as Protobuf text, as `crowdiff config --print` shows it.
std::string to_text(const v1::NodeConfig& config);

}  // namespace crowdiff::config
