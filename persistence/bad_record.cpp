#include "persistence/bad_record.hpp"

namespace crowdiff::persistence {

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

log::line& describe(log::line& line, const bad_record& bad) {
  return line.kv("table", table_name(bad.source))
      .kv("key", to_hex(bad.key))
      .kv("bytes", bad.bytes.size())
      .kv("error", bad.error);
}

bad_record_fn log_and_skip(std::string scan) {
  return [scan = std::move(scan)](bad_record bad) {
    auto line = log::error("record_skipped");
    line.kv("scan", scan);
    describe(line, bad);
  };
}

bad_record_fn collect_into(std::vector<bad_record>& out) {
  return [&out](bad_record bad) { out.push_back(std::move(bad)); };
}

}  // namespace crowdiff::persistence
