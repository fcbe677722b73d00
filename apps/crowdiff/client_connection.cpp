#include "apps/crowdiff/client_connection.hpp"

#include <cstdio>
#include <cstdlib>

#include "config/node_config.hpp"
#include "network/network_setup.hpp"

namespace crowdiff::app {

std::string api_key_from(const command_line& cli) {
  if (auto key = cli.get("key"))
    return *key;
  if (const char* env = std::getenv("CROWDIFF_API_KEY"); env != nullptr && *env != '\0')
    return env;
  return "0000000000";
}

std::unique_ptr<client> connect_client(const command_line& cli, const char* command) {
  client_options options;
  auto where = parse_host_port(
      cli.get("core").value_or("127.0.0.1:" + std::to_string(config::defaults().network().port())));
  if (!where) {
    std::fprintf(stderr, "crowdiff %s: %s\n", command, where.error().message().c_str());
    return nullptr;
  }
  options.host = where->first;
  options.port = where->second;
  options.api_key = api_key_from(cli);
  options.tls = cli.has("tls");
  options.ca_file = cli.get("ca-file").value_or("");
  options.certificate = cli.get("cert").value_or("");
  options.key = cli.get("cert-key").value_or("");
  options.reconnect_for = std::chrono::seconds(5);
  auto c = client::connect(options);
  if (!c) {
    std::fprintf(stderr, "crowdiff %s: %s\n", command, c.error().to_string().c_str());
    return nullptr;
  }
  return std::move(*c);
}

}  // namespace crowdiff::app
