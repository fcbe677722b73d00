#include "apps/crowdiff/node_runtime.hpp"

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/session/entrance.hpp"
#include "common/api_key.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "config/node_config.hpp"
#include "network/network_setup.hpp"
#include "persistence/quarantine_table.hpp"
#include "persistence/user_table.hpp"
#include "protocol/actor_system_setup.hpp"

namespace crowdiff::app {
namespace {

// The first start of a core creates an admin (who may create users) and leaves its key next to the store.
status bootstrap_admin(persistence::store& store, const std::filesystem::path& dir) {
  bool has_admin = false;
  std::vector<persistence::bad_record> bad;
  {
    auto txn = store.read();
    if (!txn)
      return txn.error();
    auto s = persistence::user_table::scan(
        **txn,
        [&](v1::UserRecord& u) {
          has_admin |= u.admin();
          return !has_admin;
        },
        persistence::collect_into(bad));
    if (!s)
      return s;
  }
  // Users that cannot be decoded are moved aside rather than stopping the start.
  if (!bad.empty()) {
    std::vector<std::optional<uint64_t>> ids;
    auto moved = store.write_sync([&](persistence::write_txn& txn) -> status {
      auto m = persistence::quarantine_table::move_aside(txn, bad, wall_ms());
      if (!m)
        return m.error();
      ids = std::move(*m);
      return status::ok();
    });
    persistence::log_moved_aside("start", bad, ids, moved);
    if (!moved)
      return moved;
  }
  if (has_admin)
    return status::ok();
  auto key = generate_api_key();
  // The key file is complete before the admin exists: written owner-only under a temporary name and renamed,
  // so a reader never sees it half written, and a crash in between leaves no admin whose key is lost (the
  // next start makes a new key and replaces the file).
  auto path = dir / "admin.key";
  auto partial = dir / "admin.key.partial";
  {
    int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      return status{errc::io_error, "cannot write " + partial.string()};
    std::string line = key + "\n";
    bool written =
        ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written || ::rename(partial.c_str(), path.c_str()) != 0) {
      ::unlink(partial.c_str());
      return status{errc::io_error, "cannot write " + path.string()};
    }
    // The rename is durable only once the directory is.
    int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool synced = dir_fd >= 0 && ::fsync(dir_fd) == 0;
    if (dir_fd >= 0)
      ::close(dir_fd);
    if (!synced)
      return status{errc::io_error, "cannot sync " + dir.string()};
  }
  auto hash = hash_api_key(key);
  auto s = store.write_sync([&](persistence::write_txn& txn) {
    return persistence::user_table::create(txn, "admin", hash, wall_ms(), false, true).to_status();
  });
  if (!s)
    return s;
  log::info("admin_created").kv("name", "admin").kv("key_file", path.string());
  std::fprintf(stderr, "created user 'admin'; its API key is in %s\n", path.c_str());
  return status::ok();
}

}  // namespace

result<v1::NodeConfig> effective_config(const command_line& cli) {
  v1::NodeConfig config;
  if (auto file = cli.get("config")) {
    auto loaded = config::load_file(*file);
    if (!loaded)
      return loaded.error();
    config = std::move(*loaded);
  }
  std::vector<std::string> overrides = cli.overrides;
  if (auto v = cli.get("store"))
    overrides.push_back("store.directory=" + *v);
  if (auto v = cli.get("log-level"))
    overrides.push_back("log_level=" + *v);
  if (auto v = cli.get("port"))
    overrides.push_back("network.port=" + *v);
  if (auto v = cli.get("http-port"))
    overrides.push_back("gateway.http_port=" + *v);
  if (auto v = cli.get("core"))
    overrides.push_back("worker.core=" + *v);
  if (auto v = cli.get("name"))
    overrides.push_back("worker.name=" + *v);
  if (auto v = cli.get("ca-file"))
    overrides.push_back("network.tls_ca_file=" + *v);
  if (auto v = cli.get("cert"))
    overrides.push_back("network.tls_certificate=" + *v);
  if (auto v = cli.get("cert-key"))
    overrides.push_back("network.tls_key=" + *v);
  if (cli.has("tls"))
    overrides.push_back("network.tls=true");
  if (auto s = config::apply_overrides(config, overrides); !s)
    return s;
  config = config::with_defaults(std::move(config));
  if (auto s = config::validate(config); !s)
    return s;
  return config;
}

void apply_log_level(const v1::NodeConfig& config) {
  log::level lvl = log::level::info;
  log::parse_level(config.log_level(), lvl);
  log::set_level(lvl);
}

uint16_t core_runtime::http_port() const {
  return gateway_ ? gateway_->port() : 0;
}

result<std::unique_ptr<core_runtime>> core_runtime::start(const v1::NodeConfig& config, bool http) {
  std::unique_ptr<core_runtime> rt{new core_runtime()};
  persistence::store_options options;
  options.directory = config.store().directory();
  options.create_if_missing = true;
  options.initial_map_bytes = config.store().initial_map_mb() << 20;
  options.max_batch = config.store().max_batch();
  auto s = persistence::store::open(options);
  if (!s)
    return s.error();
  rt->store_ = std::move(*s);
  if (auto b = bootstrap_admin(*rt->store_, options.directory); !b)
    return b;
  rt->actor_config_ = std::make_unique<caf::actor_system_config>();
  configure_actor_system(*rt->actor_config_);
  configure_network(*rt->actor_config_, config.network());
  rt->actor_config_->set("logger.console", caf::atom("none"));
  rt->system_ = std::make_unique<caf::actor_system>(*rt->actor_config_);
  rt->core_ = spawn_core(*rt->system_, *rt->store_, config);
  rt->entrance_ = rt->system_->spawn(entrance_fn, entrance_options{rt->store_.get(), rt->core_.broker,
                                                                   rt->core_.scheduler, rt->core_.ledger});
  auto port = publish_entrance(*rt->system_, rt->entrance_, config.network());
  if (!port)
    return port.error();
  rt->port_ = port->port;
  rt->node_guard_ = std::move(port->guard);
  if (http) {
    auto gw = gateway::http_gateway::start(*rt->system_, rt->core_, *rt->store_, config);
    if (!gw)
      return gw.error();
    rt->gateway_ = std::move(*gw);
  }
  return rt;
}

core_runtime::~core_runtime() {
  if (!system_)
    return;
  if (gateway_)
    gateway_->stop();
  if (node_guard_)
    node_guard_->stop();
  caf::anon_send_exit(entrance_, caf::exit_reason::user_shutdown);
  stop_core(core_);
  system_->await_all_actors_done();
  system_.reset();
  store_.reset();
}

int wait_for_shutdown_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace crowdiff::app
