#include "gateway/bounded_json.hpp"

namespace crowdiff::gateway {
namespace {

using json = nlohmann::json;
using dom_parser = nlohmann::detail::json_sax_dom_parser<json>;

// nlohmann's own DOM builder, behind a counter: the parser is iterative, so the depth is all that grows the
// stack of whoever walks the tree later (copies, our field readers), and the value count bounds its memory.
class bounded_sax {
 public:
  bounded_sax(json& out, const json_limits& limits) : dom_(out, false), limits_(limits) {}

  bool null() { return value() && dom_.null(); }
  bool boolean(bool v) { return value() && dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return value() && dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return value() && dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return value() && dom_.number_float(v, s);
  }
  bool string(json::string_t& v) { return value() && dom_.string(v); }
  bool binary(json::binary_t& v) { return value() && dom_.binary(v); }
  bool start_object(size_t n) { return open() && dom_.start_object(n); }
  bool key(json::string_t& k) { return dom_.key(k); }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(size_t n) { return open() && dom_.start_array(n); }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  bool parse_error(size_t position, const std::string& token, const nlohmann::detail::exception& e) {
    if (why_.empty())
      why_ = "the body is not valid JSON (at byte " + std::to_string(position) + ")";
    return dom_.parse_error(position, token, e);
  }

  const std::string& why() const { return why_; }

 private:
  bool value() {
    if (++values_ <= limits_.max_values)
      return true;
    why_ = "the JSON document has more than " + std::to_string(limits_.max_values) + " values";
    return false;
  }
  bool open() {
    if (!value())
      return false;
    if (++depth_ <= limits_.max_depth)
      return true;
    why_ = "the JSON document is nested deeper than " + std::to_string(limits_.max_depth) + " levels";
    return false;
  }

  dom_parser dom_;
  json_limits limits_;
  size_t depth_ = 0;
  size_t values_ = 0;
  std::string why_;
};

}  // namespace

result<json> parse_bounded_json(std::string_view text, const json_limits& limits) {
  json out;
  bounded_sax sax(out, limits);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &sax, json::input_format_t::json, true);
  } catch (const std::exception& e) {
    // The SAX parser reports through parse_error; this is for allocation failures and the like.
    return status{errc::invalid_argument, std::string("the body could not be parsed: ") + e.what()};
  }
  if (!ok)
    return status{errc::invalid_argument,
                  sax.why().empty() ? std::string("the body is not valid JSON") : sax.why()};
  return out;
}

std::string write_json(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace crowdiff::gateway
