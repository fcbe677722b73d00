#include "network/network_setup.hpp"

#include <charconv>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "protocol/errors.hpp"

namespace crowdiff {
namespace {

// CAF's OpenSSL module (mutual TLS: both ends have certificates) is used by a core with a certificate that is
// not public, and by a client or worker with a certificate of its own.
bool uses_caf_tls(const v1::NetworkConfig& n) {
  if (n.tls())
    return !n.tls_certificate().empty();
  return !n.tls_certificate().empty() && !n.tls_public();
}

// A core serves mutual TLS (CAF) when it has a certificate, is not merely connecting out, and is not public.
bool serves_mutual_tls(const v1::NetworkConfig& n) {
  return !n.tls_certificate().empty() && !n.tls() && !n.tls_public();
}

}  // namespace

void configure_network(caf::actor_system_config& cfg, const v1::NetworkConfig& network) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(network.heartbeat_ms())});
  cfg.set("middleman.connection-timeout",
          caf::timespan{std::chrono::milliseconds(network.connection_timeout_ms())});
  cfg.set("middleman.app-identifiers", std::vector<std::string>{"crowdiff-1"});
  if (uses_caf_tls(network)) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = network.tls_certificate();
    cfg.openssl_key = network.tls_key();
    cfg.openssl_passphrase = network.tls_passphrase();
    cfg.openssl_cafile = network.tls_ca_file();
  }
}

result<node_port> publish_entrance(caf::actor_system& system, const entrance_actor& entrance,
                                   const v1::NetworkConfig& network) {
  auto port = static_cast<uint16_t>(network.port());
  node_port out;
  if (serves_mutual_tls(network)) {
    const char* host = network.listen_host().empty() ? nullptr : network.listen_host().c_str();
    auto bound = caf::openssl::publish(entrance, port, host, true);
    if (!bound)
      return status{errc::unavailable,
                    "cannot listen on port " + std::to_string(port) + ": " + system.render(bound.error())};
    out.port = *bound;
    return out;
  }
  // CAF on loopback, on a port of the kernel's choosing; strangers reach it only through the guard.
  auto inside = system.middleman().publish(entrance, 0, "127.0.0.1", true);
  if (!inside)
    return status{errc::unavailable,
                  "cannot publish the entrance on loopback: " + system.render(inside.error())};
  node_port_guard::options o;
  o.host = network.listen_host();
  o.port = port;
  o.backend_port = *inside;
  o.limits.max_payload_bytes = network.max_message_bytes();
  o.handshake_timeout = std::chrono::milliseconds(network.handshake_timeout_ms());
  o.max_connections = network.max_connections();
  o.max_connections_per_ip = network.max_connections_per_ip();
  o.max_buffered_bytes = network.max_buffered_bytes();
  o.max_buffered_bytes_per_ip = network.max_buffered_bytes_per_ip();
  o.frame_timeout = std::chrono::milliseconds(network.frame_timeout_ms());
  o.flow.max_pending_requests = network.max_pending_requests();
  o.flow.messages_per_s = network.max_messages_per_s();
  if (network.tls_public() && !network.tls()) {
    o.tls_certificate = network.tls_certificate();
    o.tls_key = network.tls_key();
    o.tls_passphrase = network.tls_passphrase();
  }
  auto guard = node_port_guard::start(o);
  if (!guard)
    return guard.error();
  out.guard = std::move(*guard);
  out.port = out.guard->port();
  return out;
}

bool connects_through_tunnel(const v1::NetworkConfig& network) {
  return network.tls() && network.tls_certificate().empty();
}

result<core_route> route_to_core(const std::string& host, uint16_t port, const v1::NetworkConfig& network) {
  core_route out{host, port, nullptr};
  if (!connects_through_tunnel(network))
    return out;
  tls_tunnel::options o;
  o.host = host;
  o.port = port;
  o.ca_file = network.tls_ca_file();
  auto tunnel = tls_tunnel::start(o);
  if (!tunnel)
    return tunnel.error();
  out.host = "127.0.0.1";
  out.port = (*tunnel)->port();
  out.tunnel = std::move(*tunnel);
  return out;
}

caf::io::middleman_actor connector_for(caf::actor_system& system, const v1::NetworkConfig& network) {
  if (uses_caf_tls(network))
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
