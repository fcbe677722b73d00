#pragma once

#include <string>
#include <string_view>

#include "common/status.hpp"

namespace crowdiff::gateway {

/// A webhook URL taken apart: https to any host, or plain http to this machine only.
struct webhook_url {
  bool tls = false;
  std::string host;    ///< a name, an IPv4 address, or an IPv6 address without its brackets
  std::string port;    ///< "443" or "80" when the URL names none
  std::string target;  ///< the path and query ("/" at least); the fragment is dropped

  /// scheme://host:port, for logs: the path and query are left out, as they often carry a secret.
  std::string origin() const;
};

/// Parses a webhook URL (at most 1024 characters). Accepted: `https://HOST[:PORT][/PATH][?QUERY]`, and
/// `http://` only to loopback (`localhost`, `127.0.0.0/8`, `[::1]`), so a receiver elsewhere is always
/// reached over verified TLS. invalid_argument, with a message fit for the requester, for any other scheme,
/// user info (`user@host`), a bad host or port, spaces or control characters.
result<webhook_url> parse_webhook_url(std::string_view text);

/// True when `address` (text, as a resolver gives it) is a public unicast address: not loopback, private
/// (10/8, 172.16/12, 192.168/16, fc00::/7), link-local, carrier-grade NAT (100.64/10), unspecified,
/// multicast, broadcast or reserved, nor one of these mapped into IPv6. An https webhook is delivered only to
/// such addresses, so a requester cannot make the core POST into its own network.
bool public_address(const std::string& address);

}  // namespace crowdiff::gateway
