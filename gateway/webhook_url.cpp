#include "gateway/webhook_url.hpp"

#include <algorithm>

#include <boost/asio/ip/address.hpp>

namespace crowdiff::gateway {
namespace {

namespace net = boost::asio;

constexpr size_t max_url_chars = 1024;

bool is_loopback(const std::string& host) {
  if (host == "localhost")
    return true;
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

bool valid_host_name(std::string_view host) {
  if (host.size() > 253 || host.front() == '.' || host.back() == '.' || host.find("..") != std::string::npos)
    return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

bool public_v4(const net::ip::address_v4& a) {
  auto b = a.to_bytes();
  if (b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224)  // "this network", private, loopback, multicast+
    return false;
  if (b[0] == 100 && (b[1] & 0xc0) == 64)  // 100.64/10, carrier-grade NAT
    return false;
  if (b[0] == 169 && b[1] == 254)  // link-local (cloud metadata services live here)
    return false;
  if (b[0] == 172 && (b[1] & 0xf0) == 16)
    return false;
  if (b[0] == 192 && (b[1] == 168 || (b[1] == 0 && (b[2] == 0 || b[2] == 2))))  // private, IETF, TEST-NET-1
    return false;
  if (b[0] == 198 && ((b[1] & 0xfe) == 18 || (b[1] == 51 && b[2] == 100)))  // benchmarking, TEST-NET-2
    return false;
  if (b[0] == 203 && b[1] == 0 && b[2] == 113)  // TEST-NET-3
    return false;
  return true;
}

}  // namespace

bool public_address(const std::string& text) {
  boost::system::error_code ec;
  auto address = net::ip::make_address(text, ec);
  if (ec)
    return false;
  if (address.is_v4())
    return public_v4(address.to_v4());
  auto v6 = address.to_v6();
  if (v6.is_v4_mapped())
    return public_v4(net::ip::make_address_v4(net::ip::v4_mapped, v6));
  auto b = v6.to_bytes();
  if (v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || v6.is_link_local() ||
      v6.is_site_local())
    return false;
  if ((b[0] & 0xfe) == 0xfc)  // fc00::/7, unique local
    return false;
  if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0)  // ::/32 and the other IPv4-embedding forms
    return false;
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)  // 2001:db8::/32, documentation
    return false;
  return true;
}

std::string webhook_url::origin() const {
  bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + port;
}

result<webhook_url> parse_webhook_url(std::string_view text) {
  auto refuse = [](std::string why) { return result<webhook_url>{errc::invalid_argument, std::move(why)}; };
  const std::string expected = "must be an https:// URL (or http:// to localhost, 127.0.0.1 or [::1])";
  if (text.empty())
    return refuse(expected);
  if (text.size() > max_url_chars)
    return refuse("must have at most " + std::to_string(max_url_chars) + " characters");
  for (unsigned char c : text)
    if (c <= 0x20 || c >= 0x7f)
      return refuse("must not contain spaces, control or non-ASCII characters (percent-encode them)");
  auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return refuse(expected);
  std::string scheme(text.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  webhook_url out;
  if (scheme == "https")
    out.tls = true;
  else if (scheme != "http")
    return refuse(expected);
  std::string_view rest = text.substr(sep + 3);
  auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (authority.find('@') != std::string_view::npos)
    return refuse("must not carry a user name or password");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return refuse("has an unclosed [ in its host");
    out.host = std::string(authority.substr(1, close - 1));
    boost::system::error_code ec;
    net::ip::make_address_v6(out.host, ec);
    if (ec)
      return refuse("has an invalid IPv6 address");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return refuse("has an invalid host");
    port = after.empty() ? std::string_view{} : after.substr(1);
    if (!after.empty() && port.empty())
      return refuse("has an empty port");
  } else {
    auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    std::transform(out.host.begin(), out.host.end(), out.host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (out.host.empty())
      return refuse("has no host");
    if (!valid_host_name(out.host))
      return refuse("has an invalid host");
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty())
        return refuse("has an empty port");
    }
  }
  if (!port.empty()) {
    bool digits = port.size() <= 5 &&
                  std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    unsigned long number = digits ? std::stoul(std::string(port)) : 0;
    if (!digits || number == 0 || number > 65'535)
      return refuse("has an invalid port (1 to 65535)");
    out.port = std::to_string(number);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  std::string_view target = tail.substr(0, tail.find('#'));
  out.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  if (!out.tls && !is_loopback(out.host))
    return refuse(
        "may use plain http:// only for a receiver on this machine (localhost, 127.0.0.1, [::1]); "
        "use https://");
  return out;
}

}  // namespace crowdiff::gateway
