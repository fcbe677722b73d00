// A worker node process for the cluster tests: the real worker node code (uplink, reconnects, sessions)
// running the fake generator from tests/support.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "actors/node/worker_node.hpp"
#include "common/log.hpp"
#include "config/node_config.hpp"
#include "fake_generator.hpp"

int main(int argc, char** argv) {
  std::string core;
  std::string key;
  std::string name = "fake";
  std::string model = "stable_diffusion";
  long step_us = 0;
  std::string level = "warning";
  std::string ca_file;
  std::string cert;
  std::string cert_key;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--core")
      core = value;
    if (flag == "--key")
      key = value;
    if (flag == "--name")
      name = value;
    if (flag == "--model")
      model = value;
    if (flag == "--step-us")
      step_us = std::atol(value.c_str());
    if (flag == "--log-level")
      level = value;
    if (flag == "--ca-file")
      ca_file = value;
    if (flag == "--cert")
      cert = value;
    if (flag == "--cert-key")
      cert_key = value;
  }
  crowdiff::log::level lvl = crowdiff::log::level::warning;
  crowdiff::log::parse_level(level, lvl);
  crowdiff::log::set_level(lvl);
  crowdiff::v1::NodeConfig config;
  config.mutable_worker()->set_core(core);
  config.mutable_worker()->set_reconnect_max_ms(300);
  config.mutable_worker()->set_nsfw(true);
  if (!ca_file.empty()) {
    config.mutable_network()->set_tls(true);
    config.mutable_network()->set_tls_ca_file(ca_file);
    config.mutable_network()->set_tls_certificate(cert);
    config.mutable_network()->set_tls_key(cert_key);
  }
  config = crowdiff::config::with_defaults(config);
  auto gen = std::make_shared<crowdiff::testing::fake_generator>(std::vector<std::string>{model}, 5.0);
  gen->step_time = std::chrono::microseconds(step_us);
  auto node = crowdiff::worker_node::start(config, key, {{name, gen}});
  if (!node) {
    std::fprintf(stderr, "fake worker: %s\n", node.error().to_string().c_str());
    return 1;
  }
  auto outcome = (*node)->wait();
  if (!outcome) {
    std::fprintf(stderr, "fake worker: %s\n", outcome.to_string().c_str());
    return 1;
  }
  return 0;
}
