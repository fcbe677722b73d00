#include "config/node_config.hpp"

#include <fstream>
#include <sstream>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "common/log.hpp"

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

}  // namespace

v1::NodeConfig with_defaults(v1::NodeConfig c) {
  if (c.log_level().empty())
    c.set_log_level("info");
  auto* s = c.mutable_store();
  if (s->directory().empty())
    s->set_directory("./var");
  if (s->initial_map_mb() == 0)
    s->set_initial_map_mb(64);
  if (s->max_batch() == 0)
    s->set_max_batch(1024);
  if (s->result_retention_s() == 0)
    s->set_result_retention_s(86'400);
  auto* l = c.mutable_ledger();
  if (l->kudos_per_megapixel_step() == 0)
    l->set_kudos_per_megapixel_step(0.8);
  if (l->fee_per_image() == 0)
    l->set_fee_per_image(1.0);
  if (l->uptime_kudos_per_10_min() == 0)
    l->set_uptime_kudos_per_10_min(50);
  if (l->uptime_work_window_s() == 0)
    l->set_uptime_work_window_s(3600);
  if (l->uptime_max_workers_per_owner() == 0)
    l->set_uptime_max_workers_per_owner(4);
  if (l->anonymous_floor() == 0)
    l->set_anonymous_floor(-50);
  if (l->anonymous_priority() == 0)
    l->set_anonymous_priority(-1000);
  auto* sc = c.mutable_scheduler();
  if (sc->ageing_per_10_s() == 0)
    sc->set_ageing_per_10_s(50);
  if (sc->max_attempts() == 0)
    sc->set_max_attempts(4);
  if (sc->backup_after_factor() == 0)
    sc->set_backup_after_factor(2.0);
  if (sc->backup_min_ms() == 0)
    sc->set_backup_min_ms(10'000);
  if (sc->default_expiry_s() == 0)
    sc->set_default_expiry_s(1200);
  if (sc->default_model_load_ms() == 0)
    sc->set_default_model_load_ms(10'000);
  if (sc->unservable_timeout_s() == 0)
    sc->set_unservable_timeout_s(300);
  auto* net = c.mutable_network();
  if (net->port() == 0)
    net->set_port(7841);
  if (net->heartbeat_ms() == 0)
    net->set_heartbeat_ms(1000);
  if (net->connection_timeout_ms() == 0)
    net->set_connection_timeout_ms(5000);
  if (net->max_message_bytes() == 0)
    net->set_max_message_bytes(72u << 20);
  if (net->handshake_timeout_ms() == 0)
    net->set_handshake_timeout_ms(10'000);
  if (net->max_connections() == 0)
    net->set_max_connections(1024);
  if (net->max_connections_per_ip() == 0)
    net->set_max_connections_per_ip(32);
  if (net->max_buffered_bytes() == 0)
    net->set_max_buffered_bytes(512u << 20);
  if (net->max_buffered_bytes_per_ip() == 0)
    net->set_max_buffered_bytes_per_ip(160u << 20);
  if (net->frame_timeout_ms() == 0)
    net->set_frame_timeout_ms(60'000);
  if (net->max_pending_requests() == 0)
    net->set_max_pending_requests(256);
  if (net->max_messages_per_s() == 0)
    net->set_max_messages_per_s(20'000);
  auto* wk = c.mutable_worker();
  if (wk->reconnect_max_ms() == 0)
    wk->set_reconnect_max_ms(10'000);
  auto* gw = c.mutable_gateway();
  if (gw->http_port() == 0)
    gw->set_http_port(7842);
  if (gw->max_body_bytes() == 0)
    gw->set_max_body_bytes(32u << 20);
  if (gw->requests_per_s_per_key() == 0)
    gw->set_requests_per_s_per_key(10);
  if (gw->requests_per_s_per_ip() == 0)
    gw->set_requests_per_s_per_ip(20);
  if (gw->burst() == 0)
    gw->set_burst(40);
  if (gw->image_url_ttl_s() == 0)
    gw->set_image_url_ttl_s(1800);
  if (gw->webhook_attempts() == 0)
    gw->set_webhook_attempts(5);
  if (gw->webhook_backoff_ms() == 0)
    gw->set_webhook_backoff_ms(1000);
  if (gw->webhook_timeout_ms() == 0)
    gw->set_webhook_timeout_ms(10'000);
  if (gw->webhook_max_pending() == 0)
    gw->set_webhook_max_pending(10'000);
  if (gw->max_json_depth() == 0)
    gw->set_max_json_depth(32);
  if (gw->max_json_values() == 0)
    gw->set_max_json_values(100'000);
  if (gw->header_timeout_ms() == 0)
    gw->set_header_timeout_ms(10'000);
  if (gw->body_timeout_ms() == 0)
    gw->set_body_timeout_ms(60'000);
  if (gw->idle_timeout_ms() == 0)
    gw->set_idle_timeout_ms(30'000);
  if (gw->write_timeout_ms() == 0)
    gw->set_write_timeout_ms(60'000);
  if (gw->max_connections() == 0)
    gw->set_max_connections(2048);
  if (gw->max_connections_per_ip() == 0)
    gw->set_max_connections_per_ip(64);
  if (gw->max_body_bytes_in_flight() == 0)
    gw->set_max_body_bytes_in_flight(256u << 20);
  if (gw->max_stream_backlog_bytes() == 0)
    gw->set_max_stream_backlog_bytes(1u << 20);
  if (gw->max_upload_bytes() == 0)
    gw->set_max_upload_bytes(512u << 20);
  if (gw->max_body_bytes_in_flight_per_ip() == 0)
    gw->set_max_body_bytes_in_flight_per_ip(64u << 20);
  if (gw->upload_ttl_s() == 0)
    gw->set_upload_ttl_s(600);
  auto* lim = c.mutable_limits();
  if (lim->max_prompt_chars() == 0)
    lim->set_max_prompt_chars(4096);
  if (lim->max_images() == 0)
    lim->set_max_images(20);
  if (lim->max_steps() == 0)
    lim->set_max_steps(150);
  if (lim->max_side() == 0)
    lim->set_max_side(2048);
  if (lim->max_concurrent_jobs() == 0)
    lim->set_max_concurrent_jobs(30);
  if (lim->max_source_image_bytes() == 0)
    lim->set_max_source_image_bytes(16u << 20);
  if (lim->max_catalog_models() == 0)
    lim->set_max_catalog_models(4096);
  if (lim->max_concurrent_images() == 0)
    lim->set_max_concurrent_images(30);
  if (lim->anonymous_max_concurrent_images() == 0)
    lim->set_anonymous_max_concurrent_images(60);
  if (lim->free_max_pixels() == 0)
    lim->set_free_max_pixels(1024 * 1024);
  if (lim->free_max_steps() == 0)
    lim->set_free_max_steps(50);
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
