// crowdiff: one binary, one subcommand per role or task.
#include <csignal>
#include <cstdio>
#include <map>

#include "apps/crowdiff/command_line.hpp"
#include "apps/crowdiff/commands.hpp"

namespace {

constexpr const char* usage = R"(usage: crowdiff <command> [options]

nodes:
  up        the core and a local worker in one process (store under ./var by default)
  core      Broker, Scheduler and Ledger with the store, listening on --port (default 7841) and serving
            the AI Horde v2 API and the web page on --http-port (default 7842)
  worker    workers joining a core: --core HOST:PORT --key KEY [--name NAME] --model PATH [--cpu]
            (one worker per GPU of sm_80 or later, else one on the CPU; --cpu: the CPU whatever the GPUs)
  config    --print: the effective configuration
  generate  "PROMPT" --model PATH [-o OUT.webp --steps --sampler --seed --cfg -W -H --n --negative --karras
            --clip-skip N --source IMG --denoise X --threads N --cpu]: images on this machine (its first
            GPU, else the CPU), no core
  store     quarantine list | quarantine drop KEY... | quarantine drop --all: the records the store could
            not read and moved aside (--store DIR; the core must be stopped)

clients (--core HOST:PORT, default 127.0.0.1:7841; --key KEY or $CROWDIFF_API_KEY;
         --tls --ca-file CA.pem --cert CERT.pem --cert-key KEY.pem for a core serving TLS):
  submit "PROMPT" [--steps N --sampler NAME --seed N --cfg X -W N -H N --n N --model NAME --negative TEXT
                   --karras --nsfw] -o OUT.webp
  status JOB | cancel JOB
  users add NAME                 (admin key)
  kudos balance | kudos transfer USER AMOUNT
  workers

node options:
  --config FILE      a NodeConfig in Protobuf text format
  --store DIR        where the store lives (store.directory)
  --log-level LEVEL  trace, debug, info, warning, error or off
  --FIELD.PATH=VALUE override any config field, e.g. --scheduler.max_attempts=3
)";

}  // namespace

int main(int argc, char** argv) {
  // Shutdown signals are taken with sigwait: block them before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto cli = crowdiff::app::parse_command_line(
      argc, argv,
      {"config",  "store",    "log-level",  "port",     "http-port", "core",   "name",      "key",
       "ca-file", "model",    "steps",      "sampler",  "seed",      "cfg",    "W",         "H",
       "width",   "height",   "n",          "negative", "o",         "output", "clip-skip", "idempotency-key",
       "cert",    "cert-key", "model-name", "threads",  "source",    "denoise"});
  if (!cli) {
    std::fprintf(stderr, "crowdiff: %s\n%s", cli.error().message().c_str(), usage);
    return 2;
  }
  using handler = int (*)(const crowdiff::app::command_line&);
  static const std::map<std::string, handler> commands = {{"up", crowdiff::app::cmd_up},
                                                          {"core", crowdiff::app::cmd_core},
                                                          {"worker", crowdiff::app::cmd_worker},
                                                          {"config", crowdiff::app::cmd_config},
                                                          {"submit", crowdiff::app::cmd_submit},
                                                          {"status", crowdiff::app::cmd_status},
                                                          {"cancel", crowdiff::app::cmd_cancel},
                                                          {"users", crowdiff::app::cmd_users},
                                                          {"kudos", crowdiff::app::cmd_kudos},
                                                          {"workers", crowdiff::app::cmd_workers},
                                                          {"generate", crowdiff::app::cmd_generate},
                                                          {"store", crowdiff::app::cmd_store}};
  if (cli->command.empty() || cli->command == "help" || cli->has("help")) {
    std::fputs(usage, stdout);
    return cli->command.empty() ? 2 : 0;
  }
  auto it = commands.find(cli->command);
  if (it == commands.end()) {
    std::fprintf(stderr, "crowdiff: unknown command '%s'\n%s", cli->command.c_str(), usage);
    return 2;
  }
  return it->second(*cli);
}
