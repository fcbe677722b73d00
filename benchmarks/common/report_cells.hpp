#pragma once

// Formatting shared by the benchmarks' tables and JSON lines: a figure that was not measured prints as a
// dash in the table and as null in the JSON, never as a made-up number.

#include <cstdio>
#include <optional>
#include <string>

namespace crowdiff::bench {

/// `v` printed with the printf `format` (one double), or "-" when it was not measured.
inline std::string cell(const std::optional<double>& v, const char* format = "%.1f") {
  if (!v)
    return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, *v);
  return buffer;
}

/// `v` as a JSON number with four significant digits, or null when it was not measured.
inline std::string json_number(const std::optional<double>& v) {
  if (!v)
    return "null";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", *v);
  return buffer;
}

}  // namespace crowdiff::bench
