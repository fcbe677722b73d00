#include "gateway/http_request.hpp"

#include "common/utf8.hpp"

namespace crowdiff::gateway {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Pairs whose escapes are malformed are dropped.
void parse_query(std::string_view q, std::map<std::string, std::string>& out) {
  while (!q.empty()) {
    auto amp = q.find('&');
    auto pair = q.substr(0, amp);
    auto eq = pair.find('=');
    std::string key;
    std::string value;
    if (percent_decode(pair.substr(0, eq), key) &&
        (eq == std::string_view::npos || percent_decode(pair.substr(eq + 1), value)))
      out[key] = value;
    if (amp == std::string_view::npos)
      break;
    q.remove_prefix(amp + 1);
  }
}

}  // namespace

std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string_view, std::string_view>>& fields,
                         std::string body, http_request& out) {
  out.method = std::string(method);
  auto qmark = target.find('?');
  if (!percent_decode(target.substr(0, qmark), out.path))
    return "malformed path";
  if (!valid_utf8(out.path))
    return "the path is not valid UTF-8";
  if (qmark != std::string_view::npos)
    parse_query(target.substr(qmark + 1), out.query);
  for (const auto& [k, v] : out.query)
    if (!valid_utf8(k) || !valid_utf8(v))
      return "the query string is not valid UTF-8";
  for (const auto& [name, value] : fields) {
    std::string key = lower(name);
    if (!valid_utf8(key))
      return "a header name is not valid UTF-8";
    if (!valid_utf8(value))
      return "header '" + key + "' is not valid UTF-8";
    out.headers[key] = std::string(value);
  }
  out.body = std::move(body);
  return {};
}

bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size())
      return false;
    int hi = hex(text[i + 1]);
    int lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0)
      return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

std::string http_request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string{} : it->second;
}

}  // namespace crowdiff::gateway
