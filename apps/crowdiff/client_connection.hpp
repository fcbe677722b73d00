#pragma once

#include <memory>

#include "apps/crowdiff/command_line.hpp"
#include "crowdiff/client.hpp"

namespace crowdiff::app {

/// The API key for client commands: --key, else $CROWDIFF_API_KEY, else the anonymous key.
std::string api_key_from(const command_line& cli);

/// Connects the client commands to the core named by --core HOST:PORT (default 127.0.0.1:7841), with --tls
/// and --ca-file. Prints the error and returns null when that fails.
std::unique_ptr<client> connect_client(const command_line& cli, const char* command);

}  // namespace crowdiff::app
