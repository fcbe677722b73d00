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

}  // namespace crowdiff::gateway
