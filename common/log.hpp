#pragma once

#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace crowdiff::log {

/// Severity, lowest first. A line is written when its level is at least the configured one.
enum class level : uint8_t { trace = 0, debug = 1, info = 2, warning = 3, error = 4, off = 5 };

/// Parses "trace", "debug", "info", "warning", "error" or "off"; false for anything else.
bool parse_level(std::string_view text, level& out);
std::string_view to_string(level lvl);

/// Sets the minimum level written (default: info). Thread-safe.
void set_level(level lvl);
level current_level();
inline bool enabled(level lvl) {
  return lvl >= current_level() && lvl != level::off;
}

/// Where finished lines go (default: stderr). Tests swap in a capturing sink. Thread-safe.
using sink_fn = std::function<void(level, const std::string& line)>;
void set_sink(sink_fn sink);
void reset_sink();

/// One structured log line in logfmt (`ts=... level=info event=job_state job=... to=running`), written when
/// the object goes out of scope. Build it with the helpers below: `log::info("job_state").kv("job", id);`
class line {
 public:
  line(level lvl, std::string_view event);
  line(const line&) = delete;
  line& operator=(const line&) = delete;
  ~line();

  line& kv(std::string_view key, std::string_view value);
  line& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view{value}); }
  line& kv(std::string_view key, const char* value) { return kv(key, std::string_view{value}); }
  line& kv(std::string_view key, bool value);
  line& kv(std::string_view key, double value);
  template <class Int>
  requires std::is_integral_v<Int> line& kv(std::string_view key, Int value) {
    if (active_)
      append_raw(key, std::to_string(value));
    return *this;
  }

 private:
  void append_raw(std::string_view key, const std::string& value);

  level level_;
  bool active_;
  std::string text_;
};

inline line trace(std::string_view event) {
  return line{level::trace, event};
}
inline line debug(std::string_view event) {
  return line{level::debug, event};
}
inline line info(std::string_view event) {
  return line{level::info, event};
}
inline line warning(std::string_view event) {
  return line{level::warning, event};
}
inline line error(std::string_view event) {
  return line{level::error, event};
}

}  // namespace crowdiff::log
