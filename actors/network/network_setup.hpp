#pragma once

#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman_actor.hpp>

#include "actors/interfaces.hpp"
#include "common/status.hpp"
#include "crowdiff/v1/config.pb.h"

namespace crowdiff {

/// Loads CAF's middleman (and its OpenSSL module when TLS is configured: a certificate for a core, `tls` for
/// clients and workers) and sets heartbeats, so a silent or vanished peer is noticed within
/// `connection_timeout_ms`. Call before creating the actor system.
void configure_network(caf::actor_system_config& cfg, const v1::NetworkConfig& network);

/// Publishes the entrance on `network.listen_host`:`network.port` (TLS when a certificate is configured).
/// Returns the bound port. unavailable with the reason when the port cannot be opened.
result<uint16_t> publish_entrance(caf::actor_system& system, const entrance_actor& entrance,
                                  const v1::NetworkConfig& network);

/// The middleman actor that opens connections: TLS or plain, as configured.
caf::io::middleman_actor connector_for(caf::actor_system& system, const v1::NetworkConfig& network);

/// Splits "host:port"; invalid_argument otherwise.
result<std::pair<std::string, uint16_t>> parse_host_port(const std::string& text);

}  // namespace crowdiff
