// crowdiff: one binary, one subcommand per role or task.
#include <csignal>
#include <cstdio>
#include <cstring>

#include "apps/crowdiff/command_line.hpp"
#include "apps/crowdiff/commands.hpp"

namespace {

constexpr const char* usage = R"(usage: crowdiff <command> [options]

commands:
  up                 the core and a local worker in one process (store under ./var by default)
  config --print     show the effective configuration

options for every command:
  --config FILE      a NodeConfig in Protobuf text format
  --store DIR        where the store lives (store.directory)
  --log-level LEVEL  trace, debug, info, warning, error or off
  --FIELD.PATH=VALUE override any config field, e.g. --scheduler.max_attempts=3
)";

}  // namespace

int main(int argc, char** argv) {
  // Shutdown signals are taken with sigwait on the main thread: block them before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto cli = crowdiff::app::parse_command_line(argc, argv, {"config", "store", "log-level"});
  if (!cli) {
    std::fprintf(stderr, "crowdiff: %s\n%s", cli.error().message().c_str(), usage);
    return 2;
  }
  if (cli->command == "up") return crowdiff::app::cmd_up(*cli);
  if (cli->command == "config") return crowdiff::app::cmd_config(*cli);
  if (cli->command.empty() || cli->command == "help" || cli->has("help")) {
    std::fputs(usage, stdout);
    return cli->command.empty() ? 2 : 0;
  }
  std::fprintf(stderr, "crowdiff: unknown command '%s'\n%s", cli->command.c_str(), usage);
  return 2;
}
