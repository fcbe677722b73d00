#include "actors/network/network_setup.hpp"

#include <charconv>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/errors.hpp"

namespace crowdiff {
namespace {

bool uses_tls(const v1::NetworkConfig& n) {
  return !n.tls_certificate().empty() || n.tls();
}

// A core serves TLS when it has a certificate and is not merely connecting out with one.
bool serves_tls(const v1::NetworkConfig& n) {
  return !n.tls_certificate().empty() && !n.tls();
}

}  // namespace

void configure_network(caf::actor_system_config& cfg, const v1::NetworkConfig& network) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(network.heartbeat_ms())});
  cfg.set("middleman.connection-timeout",
          caf::timespan{std::chrono::milliseconds(network.connection_timeout_ms())});
  cfg.set("middleman.app-identifiers", std::vector<std::string>{"crowdiff-1"});
  if (uses_tls(network)) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = network.tls_certificate();
    cfg.openssl_key = network.tls_key();
    cfg.openssl_passphrase = network.tls_passphrase();
    cfg.openssl_cafile = network.tls_ca_file();
  }
}

result<uint16_t> publish_entrance(caf::actor_system& system, const entrance_actor& entrance,
                                  const v1::NetworkConfig& network) {
  const char* host = network.listen_host().empty() ? nullptr : network.listen_host().c_str();
  auto port = static_cast<uint16_t>(network.port());
  auto bound = serves_tls(network) ? caf::openssl::publish(entrance, port, host, true)
                                   : system.middleman().publish(entrance, port, host, true);
  if (!bound)
    return status{errc::unavailable,
                  "cannot listen on port " + std::to_string(port) + ": " + system.render(bound.error())};
  return *bound;
}

caf::io::middleman_actor connector_for(caf::actor_system& system, const v1::NetworkConfig& network) {
  if (uses_tls(network))
    return system.openssl_manager().actor_handle();
  return system.middleman().actor_handle();
}

result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return status{errc::invalid_argument, "expected HOST:PORT, not '" + text + "'"};
  unsigned port = 0;
  auto digits = std::string_view{text}.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port == 0 || port > 65535)
    return status{errc::invalid_argument, "bad port in '" + text + "'"};
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::pair{host, static_cast<uint16_t>(port)};
}

}  // namespace crowdiff
