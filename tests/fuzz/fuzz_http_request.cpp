// Bytes from a TCP connection as the gateway reads them: Beast's parser with the server's limits, then the
// request handlers would see (UTF-8 checked, percent-decoded, query and headers split), or its refusal.

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/beast/http.hpp>

#include "common/utf8.hpp"
#include "gateway/http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_done())
    return 0;
  auto msg = parser.release();
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  for (const auto& f : msg)
    fields.emplace_back(std::string_view{f.name_string().data(), f.name_string().size()},
                        std::string_view{f.value().data(), f.value().size()});
  crowdiff::gateway::http_request req;
  auto refused = crowdiff::gateway::make_request({msg.method_string().data(), msg.method_string().size()},
                                                 {msg.target().data(), msg.target().size()}, fields,
                                                 std::move(msg.body()), req);
  if (!refused.empty())
    return 0;
  // What reaches a handler is UTF-8 throughout.
  if (!crowdiff::valid_utf8(req.path))
    __builtin_trap();
  for (const auto& [k, v] : req.headers)
    if (!crowdiff::valid_utf8(k) || !crowdiff::valid_utf8(v))
      __builtin_trap();
  for (const auto& [k, v] : req.query)
    if (!crowdiff::valid_utf8(k) || !crowdiff::valid_utf8(v))
      __builtin_trap();
  return 0;
}
