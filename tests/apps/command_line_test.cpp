#include "apps/crowdiff/command_line.hpp"

#include <optional>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>

using crowdiff::app::command_line;
using crowdiff::app::parse_command_line;

namespace {

crowdiff::result<command_line> parse(std::vector<std::string> args) {
  std::string program = "crowdiff";
  std::vector<char*> argv{program.data()};
  for (auto& a : args)
    argv.push_back(a.data());
  return parse_command_line(static_cast<int>(argv.size()), argv.data(), {"store", "port", "model", "o"});
}

// The flag's value, or "<absent>".
std::string flag(const command_line& cli, const std::string& name) {
  auto it = cli.flags.find(name);
  return it == cli.flags.end() ? std::string("<absent>") : it->second;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(command_line_suite)

BOOST_AUTO_TEST_CASE(a_named_flag_wins_over_the_config_message_of_the_same_name) {
  // `store` is also a message in NodeConfig; `--store DIR` must stay the flag, not become an override.
  auto cli = parse({"core", "--store", "/tmp/var", "--port=7000"});
  BOOST_REQUIRE(cli.has_value());
  BOOST_TEST(cli->command == "core");
  BOOST_TEST(flag(*cli, "store") == "/tmp/var");
  BOOST_TEST(flag(*cli, "port") == "7000");
  BOOST_TEST(cli->overrides.empty());
}

BOOST_AUTO_TEST_CASE(config_fields_are_overrides) {
  auto cli = parse({"up", "--store.directory=/x", "--scheduler.max_attempts", "3", "--log_level=debug"});
  BOOST_REQUIRE(cli.has_value());
  BOOST_TEST(cli->flags.empty());
  BOOST_REQUIRE_EQUAL(cli->overrides.size(), 3u);
  BOOST_TEST(cli->overrides[0] == "store.directory=/x");
  BOOST_TEST(cli->overrides[1] == "scheduler.max_attempts=3");
  BOOST_TEST(cli->overrides[2] == "log_level=debug");
}

BOOST_AUTO_TEST_CASE(a_repeated_value_flag_is_a_list_and_short_flags_are_long_ones) {
  auto cli =
      parse({"worker", "--model", "a.safetensors", "--model=b.safetensors", "-o", "out.webp", "--tls"});
  BOOST_REQUIRE(cli.has_value());
  BOOST_TEST(flag(*cli, "model") == "a.safetensors,b.safetensors");
  BOOST_TEST(flag(*cli, "o") == "out.webp");
  BOOST_TEST(cli->has("tls"));
}

BOOST_AUTO_TEST_CASE(words_after_the_command_are_kept_in_order) {
  auto cli = parse({"kudos", "transfer", "alice", "10"});
  BOOST_REQUIRE(cli.has_value());
  BOOST_TEST(cli->command == "kudos");
  BOOST_TEST(cli->words == (std::vector<std::string>{"transfer", "alice", "10"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_flags_are_clear_errors) {
  BOOST_TEST(!parse({"core", "--store"}).has_value());
  BOOST_TEST(!parse({"core", "--tls=yes"}).has_value());
  BOOST_TEST(!parse({"core", "--scheduler.max_attempts"}).has_value());
  auto missing = parse({"core", "--port"});
  BOOST_REQUIRE(!missing.has_value());
  BOOST_TEST(missing.error().message().find("--port needs a value") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
