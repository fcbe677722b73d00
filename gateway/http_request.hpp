#pragma once

// An HTTP request as handlers see it, and how one is made from what the parser read. Everything in a request
// that reaches a handler is valid UTF-8 (common/utf8.hpp), so handlers may store it, log it and echo it.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crowdiff::gateway {

struct http_request {
  std::string method;  ///< "GET", "POST", ...
  std::string path;    ///< without the query string, percent-decoded
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  std::string peer;  ///< the client's IP address
  bool loopback = false;

  /// A header's value, or "" when absent.
  std::string header(const std::string& lower_name) const;
};

/// Fills `out` (method, path, query, headers, body) from a parsed request's parts; "" when it may go to a
/// handler, else why it is refused (a malformed path, or a path, query or header value that is not UTF-8,
/// naming the header). `peer` and `loopback` are left for the caller.
std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string_view, std::string_view>>& fields,
                         std::string body, http_request& out);

/// Percent-decodes `text` ('+' stays '+'); false when an escape is malformed.
bool percent_decode(std::string_view text, std::string& out);

}  // namespace crowdiff::gateway
