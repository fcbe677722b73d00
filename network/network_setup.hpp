#pragma once

#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman_actor.hpp>

#include "common/status.hpp"
#include "crowdiff/v1/config.pb.h"
#include "network/node_port_guard.hpp"
#include "network/tls_tunnel.hpp"
#include "protocol/interfaces.hpp"

namespace crowdiff {

/// Loads CAF's middleman (and its OpenSSL module for mutual TLS: a core with a certificate that is not
/// `tls_public`, a client or worker with `tls` and a certificate of its own) and sets heartbeats, so a silent
/// or vanished peer is noticed within `connection_timeout_ms`. Call before creating the actor system.
void configure_network(caf::actor_system_config& cfg, const v1::NetworkConfig& network);

/// The node port as published: its port, and the guard in front of CAF's middleman (none with TLS, where
/// CAF's OpenSSL module holds the port and every peer has a certificate the core's CA signed).
struct node_port {
  uint16_t port = 0;
  std::unique_ptr<node_port_guard> guard;
};

/// Publishes the entrance on `network.listen_host`:`network.port`: behind a node_port_guard (CAF listens on
/// loopback only), plain or, with `tls_public`, with TLS ending at the guard; mutual TLS through CAF when a
/// certificate is configured without `tls_public`. unavailable with the reason when the port
/// cannot be opened.
result<node_port> publish_entrance(caf::actor_system& system, const entrance_actor& entrance,
                                   const v1::NetworkConfig& network);

/// Where CAF connects to reach a core at `host`:`port`: there itself, or, for a client or worker with `tls`
/// and no certificate of its own (a public-TLS core), a tls_tunnel on loopback that checks the core's
/// certificate. Keep `tunnel` alive while connected.
struct core_route {
  std::string host;
  uint16_t port = 0;
  std::unique_ptr<tls_tunnel> tunnel;
};
result<core_route> route_to_core(const std::string& host, uint16_t port, const v1::NetworkConfig& network);

/// The middleman actor that opens connections: CAF's TLS (mutual) or plain, as configured.
caf::io::middleman_actor connector_for(caf::actor_system& system, const v1::NetworkConfig& network);

/// Splits "host:port"; invalid_argument otherwise.
result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& text);

}  // namespace crowdiff
