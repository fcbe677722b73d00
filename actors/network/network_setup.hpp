#pragma once

#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman_actor.hpp>

#include "actors/interfaces.hpp"
#include "actors/network/node_port_guard.hpp"
#include "common/status.hpp"
#include "crowdiff/v1/config.pb.h"

namespace crowdiff {

/// Loads CAF's middleman (and its OpenSSL module when TLS is configured: a certificate for a core, `tls` for
/// clients and workers) and sets heartbeats, so a silent or vanished peer is noticed within
/// `connection_timeout_ms`. Call before creating the actor system.
void configure_network(caf::actor_system_config& cfg, const v1::NetworkConfig& network);

/// The node port as published: its port, and the guard in front of CAF's middleman (none with TLS, where
/// CAF's OpenSSL module holds the port and every peer has a certificate the core's CA signed).
struct node_port {
  uint16_t port = 0;
  std::unique_ptr<node_port_guard> guard;
};

/// Publishes the entrance on `network.listen_host`:`network.port`: plain, behind a node_port_guard (CAF
/// listens on loopback only); TLS when a certificate is configured. unavailable with the reason when the port
/// cannot be opened.
result<node_port> publish_entrance(caf::actor_system& system, const entrance_actor& entrance,
                                   const v1::NetworkConfig& network);

/// The middleman actor that opens connections: TLS or plain, as configured.
caf::io::middleman_actor connector_for(caf::actor_system& system, const v1::NetworkConfig& network);

/// Splits "host:port"; invalid_argument otherwise.
result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& text);

}  // namespace crowdiff
