#include "apps/crowdiff/store_command.hpp"

#include <ctime>
#include <vector>

#include "persistence/quarantine_table.hpp"
#include "persistence/store.hpp"

namespace crowdiff::app {
namespace {

constexpr const char* usage =
    "usage: crowdiff store quarantine list [--store DIR]\n"
    "       crowdiff store quarantine drop [--store DIR] KEY... | --all\n";

bool parse_id(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 19)
    return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return out != 0;
}

std::string utc_time(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

std::string source_name(uint32_t number) {
  if (number < persistence::table_count)
    return std::string(persistence::table_name(static_cast<persistence::table>(number)));
  return "table#" + std::to_string(number);
}

// The store in `dir`, opened only when one is there: LMDB would create an empty one in any directory.
result<std::unique_ptr<persistence::store>> open_existing(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir / "data.mdb", ec))
    return status{errc::not_found, "no store in '" + dir.string() + "'"};
  persistence::store_options options;
  options.directory = dir;
  options.mode = persistence::commit_queue::mode::inline_commit;
  auto s = persistence::store::open(options);
  if (!s && s.error().code() == errc::store_locked)
    return status{errc::store_locked, s.error().message() + "; stop the core first"};
  return s;
}

int list(persistence::store& store, std::ostream& out, std::ostream& err) {
  auto txn = store.read();
  if (!txn) {
    err << "crowdiff store: " << txn.error().to_string() << "\n";
    return 1;
  }
  // An entry that is itself unreadable is still listed, so it can be seen and dropped.
  auto s = persistence::quarantine_table::scan(
      **txn,
      [&](v1::QuarantineRecord& q) {
        out << quarantine_line(q) << "\n";
        return true;
      },
      [&](persistence::bad_record bad) {
        std::string key = persistence::to_hex(bad.key);
        if (bad.key.size() == 8) {
          uint64_t id = 0;
          for (unsigned char c : bad.key)
            id = (id << 8) | c;
          key = std::to_string(id);
        }
        out << key << "\t?\t?\t" << bad.bytes.size() << "\t?\t" << bad.error << "\n";
      });
  if (!s) {
    err << "crowdiff store: " << s.to_string() << "\n";
    return 1;
  }
  return 0;
}

int drop(persistence::store& store, const std::vector<std::string>& keys, bool all, std::ostream& out,
         std::ostream& err) {
  std::vector<uint64_t> ids;
  for (const auto& k : keys) {
    uint64_t id = 0;
    if (!parse_id(k, id)) {
      err << "crowdiff store: '" << k << "' is not a quarantine key (a number from `list`)\n" << usage;
      return 2;
    }
    ids.push_back(id);
  }
  uint64_t dropped = 0;
  auto s = store.write_sync([&](persistence::write_txn& txn) -> status {
    dropped = 0;
    if (all) {
      auto n = persistence::quarantine_table::erase_all(txn);
      if (!n)
        return n.error();
      dropped = *n;
      return status::ok();
    }
    for (uint64_t id : ids) {
      auto gone = persistence::quarantine_table::erase(txn, id);
      if (!gone)
        return gone.error();
      if (!*gone)
        return status{errc::not_found, "no quarantine entry " + std::to_string(id) + "; nothing dropped"};
      ++dropped;
    }
    return status::ok();
  });
  if (!s) {
    err << "crowdiff store: " << s.message() << "\n";
    return 1;
  }
  out << "dropped " << dropped << (dropped == 1 ? " entry" : " entries") << "\n";
  return 0;
}

}  // namespace

std::string quarantine_line(const v1::QuarantineRecord& q) {
  std::string line = std::to_string(q.id());
  line += "\t" + source_name(q.source_table());
  line += "\t" + persistence::to_hex(q.key());
  line += "\t" + std::to_string(q.value().size());
  line += "\t" + utc_time(q.quarantined_ms());
  line += "\t" + q.error();
  return line;
}

int run_store_command(const command_line& cli, const std::filesystem::path& dir, std::ostream& out,
                      std::ostream& err) {
  const auto& w = cli.words;
  if (w.size() < 2 || w[0] != "quarantine" || (w[1] != "list" && w[1] != "drop")) {
    err << usage;
    return 2;
  }
  std::vector<std::string> keys(w.begin() + 2, w.end());
  bool all = cli.has("all");
  if (w[1] == "list" && (!keys.empty() || all)) {
    err << usage;
    return 2;
  }
  if (w[1] == "drop" && keys.empty() == !all) {
    err << "crowdiff store: drop takes quarantine keys or --all\n" << usage;
    return 2;
  }
  auto store = open_existing(dir);
  if (!store) {
    err << "crowdiff store: " << store.error().message() << "\n";
    return 1;
  }
  if (w[1] == "list")
    return list(**store, out, err);
  return drop(**store, keys, all, out, err);
}

}  // namespace crowdiff::app
