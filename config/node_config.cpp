#include "config/node_config.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "common/log.hpp"
#include "config/detail/defaults_text.hpp"

namespace crowdiff::config {
namespace {

namespace gp = google::protobuf;

class collecting_errors final : public gp::io::ErrorCollector {
 public:
  void AddError(int line, gp::io::ColumnNumber column, const std::string& message) override {
    if (text.empty())
      text = "line " + std::to_string(line + 1) + ", column " + std::to_string(column + 1) + ": " + message;
  }
  std::string text;
};

status range(std::string_view field, double value, double lo, double hi) {
  if (value < lo || value > hi)
    return status{errc::invalid_argument, std::string(field) + " must be between " + std::to_string(lo) +
                                              " and " + std::to_string(hi) + ", not " +
                                              std::to_string(value)};
  return status::ok();
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

// Gives every singular field of `config` that is unset (zero or empty: proto3 has no presence for scalars)
// the value `table` sets, recursing into messages.
void fill_unset(gp::Message& config, const gp::Message& table) {
  const auto* reflection = table.GetReflection();
  const auto* target = config.GetReflection();
  std::vector<const gp::FieldDescriptor*> fields;
  reflection->ListFields(table, &fields);
  for (const auto* f : fields) {
    if (f->is_repeated())
      continue;  // lists have no default: empty is a choice
    if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE) {
      fill_unset(*target->MutableMessage(&config, f), reflection->GetMessage(table, f));
      continue;
    }
    if (target->HasField(config, f))
      continue;
    switch (f->cpp_type()) {
      case gp::FieldDescriptor::CPPTYPE_INT32:
        target->SetInt32(&config, f, reflection->GetInt32(table, f));
        break;
      case gp::FieldDescriptor::CPPTYPE_INT64:
        target->SetInt64(&config, f, reflection->GetInt64(table, f));
        break;
      case gp::FieldDescriptor::CPPTYPE_UINT32:
        target->SetUInt32(&config, f, reflection->GetUInt32(table, f));
        break;
      case gp::FieldDescriptor::CPPTYPE_UINT64:
        target->SetUInt64(&config, f, reflection->GetUInt64(table, f));
        break;
      case gp::FieldDescriptor::CPPTYPE_DOUBLE:
        target->SetDouble(&config, f, reflection->GetDouble(table, f));
        break;
      case gp::FieldDescriptor::CPPTYPE_FLOAT:
        target->SetFloat(&config, f, reflection->GetFloat(table, f));
        break;
      case gp::FieldDescriptor::CPPTYPE_BOOL:
        target->SetBool(&config, f, reflection->GetBool(table, f));
        break;
      case gp::FieldDescriptor::CPPTYPE_ENUM:
        target->SetEnumValue(&config, f, reflection->GetEnumValue(table, f));
        break;
      case gp::FieldDescriptor::CPPTYPE_STRING:
        target->SetString(&config, f, reflection->GetString(table, f));
        break;
      case gp::FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }
}

}  // namespace

const v1::NodeConfig& defaults() {
  // Compiled in from config/defaults.textproto; the config tests parse it, so a broken table never ships.
  static const v1::NodeConfig table = [] {
    auto parsed = parse_text(std::string(detail::defaults_text()));
    if (!parsed) {
      std::fprintf(stderr, "crowdiff: the compiled-in defaults table does not parse: %s\n",
                   parsed.error().to_string().c_str());
      std::abort();
    }
    return std::move(*parsed);
  }();
  return table;
}

v1::NodeConfig with_defaults(v1::NodeConfig c) {
  fill_unset(c, defaults());
  return c;
}

status validate(const v1::NodeConfig& c) {
  log::level lvl;
  if (!log::parse_level(c.log_level(), lvl))
    return status{errc::invalid_argument,
                  "log_level must be trace, debug, info, warning, error or off, not '" + c.log_level() + "'"};
  CROWDIFF_RETURN_IF_ERROR(range("store.initial_map_mb", c.store().initial_map_mb(), 1, 1 << 22));
  CROWDIFF_RETURN_IF_ERROR(range("store.max_batch", c.store().max_batch(), 1, 65'536));
  CROWDIFF_RETURN_IF_ERROR(
      range("ledger.kudos_per_megapixel_step", c.ledger().kudos_per_megapixel_step(), 0, 1e6));
  CROWDIFF_RETURN_IF_ERROR(range("ledger.fee_per_image", c.ledger().fee_per_image(), 0, 1e6));
  CROWDIFF_RETURN_IF_ERROR(
      range("ledger.uptime_kudos_per_10_min", c.ledger().uptime_kudos_per_10_min(), 0, 1e6));
  CROWDIFF_RETURN_IF_ERROR(
      range("ledger.uptime_work_window_s", c.ledger().uptime_work_window_s(), 60, 30 * 86'400));
  CROWDIFF_RETURN_IF_ERROR(
      range("ledger.uptime_max_workers_per_owner", c.ledger().uptime_max_workers_per_owner(), 1, 10'000));
  CROWDIFF_RETURN_IF_ERROR(range("ledger.registered_floor", c.ledger().registered_floor(), -1e9, 1e9));
  CROWDIFF_RETURN_IF_ERROR(range("ledger.anonymous_floor", c.ledger().anonymous_floor(), -1e9, 1e9));
  CROWDIFF_RETURN_IF_ERROR(range("scheduler.ageing_per_10_s", c.scheduler().ageing_per_10_s(), 0, 1e9));
  CROWDIFF_RETURN_IF_ERROR(range("scheduler.max_attempts", c.scheduler().max_attempts(), 1, 100));
  CROWDIFF_RETURN_IF_ERROR(
      range("scheduler.backup_after_factor", c.scheduler().backup_after_factor(), 1, 1000));
  CROWDIFF_RETURN_IF_ERROR(
      range("scheduler.default_expiry_s", c.scheduler().default_expiry_s(), 1, 7 * 86'400));
  CROWDIFF_RETURN_IF_ERROR(range("limits.max_images", c.limits().max_images(), 1, 20));
  CROWDIFF_RETURN_IF_ERROR(range("limits.max_steps", c.limits().max_steps(), 1, 1000));
  CROWDIFF_RETURN_IF_ERROR(range("limits.max_side", c.limits().max_side(), 64, 8192));
  CROWDIFF_RETURN_IF_ERROR(range("limits.max_catalog_models", c.limits().max_catalog_models(), 1, 1'000'000));
  CROWDIFF_RETURN_IF_ERROR(
      range("limits.max_concurrent_images", c.limits().max_concurrent_images(), 1, 1'000'000));
  CROWDIFF_RETURN_IF_ERROR(range("limits.anonymous_max_concurrent_images",
                                 c.limits().anonymous_max_concurrent_images(), 1, 1'000'000));
  CROWDIFF_RETURN_IF_ERROR(range("limits.free_max_pixels", c.limits().free_max_pixels(), 64 * 64, 1u << 26));
  CROWDIFF_RETURN_IF_ERROR(range("limits.free_max_steps", c.limits().free_max_steps(), 1, 10'000));
  if (c.limits().max_side() % 8 != 0)
    return status{errc::invalid_argument, "limits.max_side must be a multiple of 8"};
  CROWDIFF_RETURN_IF_ERROR(range("network.port", c.network().port(), 1, 65'535));
  CROWDIFF_RETURN_IF_ERROR(
      range("network.max_message_bytes", c.network().max_message_bytes(), 1u << 20, 1u << 30));
  CROWDIFF_RETURN_IF_ERROR(
      range("network.handshake_timeout_ms", c.network().handshake_timeout_ms(), 100, 600'000));
  CROWDIFF_RETURN_IF_ERROR(range("network.max_connections", c.network().max_connections(), 1, 1'000'000));
  CROWDIFF_RETURN_IF_ERROR(
      range("network.max_connections_per_ip", c.network().max_connections_per_ip(), 1, 1'000'000));
  CROWDIFF_RETURN_IF_ERROR(range("network.max_buffered_bytes",
                                 static_cast<double>(c.network().max_buffered_bytes()),
                                 static_cast<double>(c.network().max_message_bytes()), 64.0 * (1u << 30)));
  CROWDIFF_RETURN_IF_ERROR(range("network.max_buffered_bytes_per_ip",
                                 static_cast<double>(c.network().max_buffered_bytes_per_ip()),
                                 static_cast<double>(c.network().max_message_bytes()),
                                 static_cast<double>(c.network().max_buffered_bytes())));
  CROWDIFF_RETURN_IF_ERROR(range("network.frame_timeout_ms", c.network().frame_timeout_ms(), 100, 3'600'000));
  CROWDIFF_RETURN_IF_ERROR(
      range("network.max_pending_requests", c.network().max_pending_requests(), 1, 1'000'000));
  CROWDIFF_RETURN_IF_ERROR(
      range("network.max_messages_per_s", c.network().max_messages_per_s(), 1, 10'000'000));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.webhook_attempts", c.gateway().webhook_attempts(), 1, 20));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.webhook_backoff_ms", c.gateway().webhook_backoff_ms(), 1, 300'000));
  CROWDIFF_RETURN_IF_ERROR(
      range("gateway.webhook_timeout_ms", c.gateway().webhook_timeout_ms(), 100, 300'000));
  CROWDIFF_RETURN_IF_ERROR(
      range("gateway.webhook_max_pending", c.gateway().webhook_max_pending(), 1, 1'000'000));
  const auto& g = c.gateway();
  CROWDIFF_RETURN_IF_ERROR(range("gateway.max_body_bytes", g.max_body_bytes(), 1024, 1u << 30));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.max_json_depth", g.max_json_depth(), 4, 512));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.max_json_values", g.max_json_values(), 100, 100'000'000));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.header_timeout_ms", g.header_timeout_ms(), 100, 3'600'000));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.body_timeout_ms", g.body_timeout_ms(), 100, 3'600'000));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.idle_timeout_ms", g.idle_timeout_ms(), 100, 3'600'000));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.write_timeout_ms", g.write_timeout_ms(), 100, 3'600'000));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.max_connections", g.max_connections(), 1, 1'000'000));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.max_connections_per_ip", g.max_connections_per_ip(), 1, 1'000'000));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.max_body_bytes_in_flight",
                                 static_cast<double>(g.max_body_bytes_in_flight()),
                                 static_cast<double>(g.max_body_bytes()), 64.0 * (1u << 30)));
  CROWDIFF_RETURN_IF_ERROR(range(
      "gateway.max_body_bytes_in_flight_per_ip", static_cast<double>(g.max_body_bytes_in_flight_per_ip()),
      static_cast<double>(g.max_body_bytes()), static_cast<double>(g.max_body_bytes_in_flight())));
  CROWDIFF_RETURN_IF_ERROR(
      range("gateway.max_stream_backlog_bytes", g.max_stream_backlog_bytes(), 4096, 1u << 30));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.max_upload_bytes", static_cast<double>(g.max_upload_bytes()),
                                 1u << 20, 64.0 * (1u << 30)));
  CROWDIFF_RETURN_IF_ERROR(range("gateway.upload_ttl_s", g.upload_ttl_s(), 1, 86'400));
  if (c.network().tls_certificate().empty() != c.network().tls_key().empty())
    return status{errc::invalid_argument, "network.tls_certificate and network.tls_key go together"};
  if (!c.worker().core().empty() && c.worker().core().rfind(':') == std::string::npos)
    return status{errc::invalid_argument, "worker.core must be HOST:PORT, not '" + c.worker().core() + "'"};
  for (const auto& m : c.models())
    if (m.empty() || m.size() > 128)
      return status{errc::invalid_argument, "model names have 1 to 128 characters"};
  return status::ok();
}

result<v1::NodeConfig> parse_text(const std::string& text) {
  v1::NodeConfig config;
  gp::TextFormat::Parser parser;
  collecting_errors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config))
    return status{errc::invalid_argument, "config: " + (errors.text.empty() ? "cannot parse" : errors.text)};
  return config;
}

result<v1::NodeConfig> load_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in)
    return status{errc::not_found, "cannot read config file '" + path.string() + "'"};
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = parse_text(buf.str());
  if (!parsed)
    return status{parsed.error().code(), path.string() + ": " + parsed.error().message()};
  return parsed;
}

status apply_overrides(v1::NodeConfig& config, const std::vector<std::string>& overrides) {
  for (const auto& item : overrides) {
    std::string text = item.rfind("--", 0) == 0 ? item.substr(2) : item;
    auto eq = text.find('=');
    if (eq == std::string::npos)
      return status{errc::invalid_argument, "override '" + item + "' needs name=value"};
    std::string path = text.substr(0, eq);
    std::string value = text.substr(eq + 1);
    gp::Message* msg = &config;
    const gp::FieldDescriptor* field = nullptr;
    std::istringstream parts(path);
    std::string part;
    std::vector<std::string> names;
    while (std::getline(parts, part, '.'))
      names.push_back(part);
    for (size_t i = 0; i < names.size(); ++i) {
      field = msg->GetDescriptor()->FindFieldByName(names[i]);
      if (field == nullptr)
        return status{errc::invalid_argument, "unknown config field '" + path + "'"};
      if (i + 1 < names.size()) {
        if (field->cpp_type() != gp::FieldDescriptor::CPPTYPE_MESSAGE || field->is_repeated())
          return status{errc::invalid_argument, "'" + names[i] + "' in '" + path + "' has no fields"};
        msg = msg->GetReflection()->MutableMessage(msg, field);
      }
    }
    if (field == nullptr || field->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE)
      return status{errc::invalid_argument, "config field '" + path + "' is not a value"};
    // Let the text-format parser convert and range-check the value, field by field.
    std::string snippet;
    auto values = field->is_repeated() ? split_commas(value) : std::vector<std::string>{value};
    if (field->is_repeated())
      msg->GetReflection()->ClearField(msg, field);
    for (const auto& v : values) {
      std::string literal = v;
      if (field->cpp_type() == gp::FieldDescriptor::CPPTYPE_STRING) {
        literal = "\"" + gp::CEscape(v) + "\"";
      }
      snippet += field->name() + ": " + literal + "\n";
    }
    gp::TextFormat::Parser parser;
    parser.AllowPartialMessage(true);
    collecting_errors errors;
    parser.RecordErrorsTo(&errors);
    std::unique_ptr<gp::Message> scratch(msg->New());
    if (!parser.ParseFromString(snippet, scratch.get()))
      return status{errc::invalid_argument, "bad value for '" + path + "': " + errors.text};
    msg->GetReflection()->ClearField(msg, field);
    msg->MergeFrom(*scratch);
  }
  return status::ok();
}

std::string to_text(const v1::NodeConfig& config) {
  std::string out;
  gp::TextFormat::Printer printer;
  printer.PrintToString(config, &out);
  return out;
}

}  // namespace crowdiff::config
