#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "common/utf8.hpp"

namespace crowdiff::log {
namespace {

std::atomic<level> g_level{level::info};
std::mutex g_sink_mutex;
sink_fn g_sink;

bool needs_quotes(std::string_view v) {
  if (v.empty())
    return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
      return true;
  return false;
}

// Values may come from outside: bytes that are not UTF-8 are written as \xNN, so a line stays one valid line.
void append_value(std::string& out, std::string_view v) {
  bool utf8 = valid_utf8(v);
  if (utf8 && !needs_quotes(v)) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || (!utf8 && static_cast<unsigned char>(c) >= 0x80)) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

bool parse_level(std::string_view text, level& out) {
  static constexpr std::pair<std::string_view, level> names[] = {
      {"trace", level::trace},  {"debug", level::debug}, {"info", level::info}, {"warning", level::warning},
      {"warn", level::warning}, {"error", level::error}, {"off", level::off}};
  for (const auto& [name, lvl] : names) {
    if (name == text) {
      out = lvl;
      return true;
    }
  }
  return false;
}

std::string_view to_string(level lvl) {
  switch (lvl) {
    case level::trace:
      return "trace";
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warning:
      return "warning";
    case level::error:
      return "error";
    case level::off:
      return "off";
  }
  return "unknown";
}

void set_level(level lvl) {
  g_level.store(lvl, std::memory_order_relaxed);
}
level current_level() {
  return g_level.load(std::memory_order_relaxed);
}

void set_sink(sink_fn sink) {
  std::lock_guard guard{g_sink_mutex};
  g_sink = std::move(sink);
}

void reset_sink() {
  set_sink(nullptr);
}

line::line(level lvl, std::string_view event) : level_(lvl), active_(enabled(lvl)) {
  if (!active_)
    return;
  text_.reserve(160);
  text_ += "ts=";
  text_ += timestamp();
  text_ += " level=";
  text_ += to_string(lvl);
  text_ += " event=";
  append_value(text_, event);
}

line& line::kv(std::string_view key, std::string_view value) {
  if (active_) {
    text_.push_back(' ');
    text_.append(key);
    text_.push_back('=');
    append_value(text_, value);
  }
  return *this;
}

line& line::kv(std::string_view key, bool value) {
  if (active_)
    append_raw(key, value ? "true" : "false");
  return *this;
}

line& line::kv(std::string_view key, double value) {
  if (active_) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", value);
    append_raw(key, buf);
  }
  return *this;
}

void line::append_raw(std::string_view key, const std::string& value) {
  text_.push_back(' ');
  text_.append(key);
  text_.push_back('=');
  text_.append(value);
}

line::~line() {
  if (!active_)
    return;
  std::lock_guard guard{g_sink_mutex};
  if (g_sink) {
    g_sink(level_, text_);
  } else {
    text_.push_back('\n');
    std::fwrite(text_.data(), 1, text_.size(), stderr);
  }
}

}  // namespace crowdiff::log
