#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"

namespace crowdiff::app {

/// A parsed command line: `crowdiff <command> [words...] [--flag[=value] | --flag value]...`.
/// Flags that name a config field (`--store.directory=/x`, `--models=a,b`) are config overrides.
struct command_line {
  std::string command;
  std::vector<std::string> words;
  std::map<std::string, std::string> flags;
  std::vector<std::string> overrides;

  bool has(const std::string& flag) const { return flags.count(flag) != 0; }
  std::optional<std::string> get(const std::string& flag) const;
};

/// Parses argv. `value_flags` take a value (`--config FILE` or `--config=FILE`; given twice, the values are
/// joined with commas); the rest are switches.
result<command_line> parse_command_line(int argc, char** argv, const std::vector<std::string>& value_flags);

}  // namespace crowdiff::app
