#include <fstream>

#include <boost/test/unit_test.hpp>

#include "config/node_config.hpp"
#include "temp_dir.hpp"

using namespace crowdiff;

BOOST_AUTO_TEST_SUITE(config_suite)

BOOST_AUTO_TEST_CASE(defaults_fill_every_unset_field) {
  auto c = config::with_defaults({});
  BOOST_TEST(c.store().directory() == "./var");
  BOOST_TEST(c.network().port() == 7841u);
  BOOST_TEST(c.gateway().http_port() == 7842u);
  BOOST_TEST(c.scheduler().max_attempts() == 4u);
  BOOST_TEST(c.ledger().uptime_kudos_per_10_min() == 50.0);
  BOOST_TEST(config::validate(c).is_ok());
}

// The defaults table (config/defaults.textproto) is the one home of every default: with_defaults({}) is the
// table, field for field, and what a node sets itself is never overwritten.
BOOST_AUTO_TEST_CASE(the_defaults_table_is_what_with_defaults_applies_and_a_set_value_wins) {
  const auto& table = config::defaults();
  auto applied = config::with_defaults({});
  BOOST_TEST(applied.SerializeAsString() == table.SerializeAsString());
  BOOST_TEST(table.network().max_message_bytes() == 72u << 20);
  BOOST_TEST(table.limits().free_max_pixels() == 1024u * 1024u);
  BOOST_TEST(table.ledger().anonymous_floor() == -50.0);
  v1::NodeConfig mine;
  mine.set_log_level("debug");
  mine.mutable_network()->set_port(9000);
  mine.mutable_ledger()->set_anonymous_floor(-5);
  mine.add_models("sdxl");
  auto c = config::with_defaults(mine);
  BOOST_TEST(c.log_level() == "debug");
  BOOST_TEST(c.network().port() == 9000u);
  BOOST_TEST(c.ledger().anonymous_floor() == -5.0);
  BOOST_TEST(c.network().heartbeat_ms() == table.network().heartbeat_ms());
  BOOST_TEST(c.models_size() == 1);
  // Every limit a node runs with is set: no zero slips through to mean "unlimited" by accident.
  BOOST_TEST(c.gateway().max_upload_bytes() > 0u);
  BOOST_TEST(c.limits().max_concurrent_images() > 0u);
  BOOST_TEST(config::validate(c).is_ok());
}

BOOST_AUTO_TEST_CASE(text_format_files_and_their_errors) {
  testing::temp_dir dir;
  auto path = dir.path() / "node.conf";
  std::ofstream(path)
      << "log_level: \"debug\"\nstore { directory: \"/data\" max_batch: 64 }\nmodels: \"sd\"\n";
  auto c = config::load_file(path);
  BOOST_REQUIRE_MESSAGE(c.has_value(), c.to_status().to_string());
  BOOST_TEST(c->store().directory() == "/data");
  BOOST_TEST(c->store().max_batch() == 64u);
  std::ofstream(path) << "store {\n  directory: 12\n}\n";
  auto bad = config::load_file(path);
  BOOST_REQUIRE(!bad.has_value());
  BOOST_TEST(bad.error().code() == errc::invalid_argument);
  BOOST_TEST(bad.error().message().find("line 2") != std::string::npos, bad.error().message());
  BOOST_TEST(config::parse_text("no_such_field: 1").error().message().find("no_such_field") !=
             std::string::npos);
  BOOST_TEST(config::load_file(dir.path() / "missing.conf").error().code() == errc::not_found);
}

BOOST_AUTO_TEST_CASE(flags_override_nested_and_repeated_fields) {
  v1::NodeConfig c;
  BOOST_TEST(config::apply_overrides(c, {"--store.directory=/x", "scheduler.max_attempts=7", "--models=a,b",
                                         "--network.tls=true", "--log_level=warning"})
                 .is_ok());
  BOOST_TEST(c.store().directory() == "/x");
  BOOST_TEST(c.scheduler().max_attempts() == 7u);
  BOOST_REQUIRE_EQUAL(c.models_size(), 2);
  BOOST_TEST(c.models(1) == "b");
  BOOST_TEST(c.network().tls());
  BOOST_TEST(c.log_level() == "warning");
}

BOOST_AUTO_TEST_CASE(bad_flags_and_values_are_named) {
  v1::NodeConfig c;
  auto unknown = config::apply_overrides(c, {"--store.nope=1"});
  BOOST_TEST(unknown.message().find("store.nope") != std::string::npos);
  auto not_number = config::apply_overrides(c, {"--scheduler.max_attempts=many"});
  BOOST_TEST(not_number.code() == errc::invalid_argument);
  BOOST_TEST(not_number.message().find("scheduler.max_attempts") != std::string::npos);
  BOOST_TEST(config::apply_overrides(c, {"--store=1"}).code() == errc::invalid_argument);
  BOOST_TEST(config::apply_overrides(c, {"--store.directory"}).code() == errc::invalid_argument);
  auto d = config::with_defaults({});
  d.mutable_limits()->set_max_side(1004);
  BOOST_TEST(config::validate(d).message().find("multiple of 8") != std::string::npos);
  d = config::with_defaults({});
  d.set_log_level("loud");
  BOOST_TEST(config::validate(d).message().find("log_level") != std::string::npos);
  d = config::with_defaults({});
  d.mutable_network()->set_tls_certificate("cert.pem");
  BOOST_TEST(config::validate(d).message().find("tls_key") != std::string::npos);
  d = config::with_defaults({});
  d.mutable_worker()->set_core("nohost");
  BOOST_TEST(config::validate(d).message().find("HOST:PORT") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(webhook_delivery_settings_have_defaults_and_bounds) {
  auto c = config::with_defaults({});
  BOOST_TEST(c.gateway().webhook_attempts() == 5u);
  BOOST_TEST(c.gateway().webhook_backoff_ms() == 1000u);
  BOOST_TEST(c.gateway().webhook_timeout_ms() == 10'000u);
  BOOST_TEST(c.gateway().webhook_max_pending() == 10'000u);
  BOOST_TEST(c.gateway().webhook_ca_file().empty());
  auto d = c;
  d.mutable_gateway()->set_webhook_attempts(21);
  BOOST_TEST(config::validate(d).message().find("gateway.webhook_attempts") != std::string::npos);
  d = c;
  d.mutable_gateway()->set_webhook_backoff_ms(300'001);
  BOOST_TEST(config::validate(d).message().find("gateway.webhook_backoff_ms") != std::string::npos);
  d = c;
  d.mutable_gateway()->set_webhook_timeout_ms(99);
  BOOST_TEST(config::validate(d).message().find("gateway.webhook_timeout_ms") != std::string::npos);
  d = c;
  d.mutable_gateway()->set_webhook_max_pending(2'000'000);
  BOOST_TEST(config::validate(d).message().find("gateway.webhook_max_pending") != std::string::npos);
  // Tests shorten the backoff; that is valid.
  d = c;
  d.mutable_gateway()->set_webhook_backoff_ms(10);
  BOOST_TEST(config::validate(d).is_ok());
}

BOOST_AUTO_TEST_CASE(the_printed_config_parses_back_to_the_same) {
  auto c = config::with_defaults({});
  auto text = config::to_text(c);
  auto back = config::parse_text(text);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->SerializeAsString() == c.SerializeAsString());
}

BOOST_AUTO_TEST_SUITE_END()
