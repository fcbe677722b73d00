// The sampler table (models/sampling/sampler_table.hpp) is the one home of every sampler fact: its wire
// values are the proto's, every wire value has a row, and what parses requests, prices them, names them for
// A1111 and lists them in Swagger (and so on the web page) all read it.
#include "models/sampling/sampler_table.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include <boost/test/unit_test.hpp>

#include "actors/ledger/pricing.hpp"
#include "crowdiff/v1/job.pb.h"
#include "gateway/horde_json.hpp"
#include "gateway/swagger.hpp"
#include "models/image/generation_parameters.hpp"
#include "models/sampling/samplers.hpp"

using namespace crowdiff;
using json = nlohmann::json;

BOOST_AUTO_TEST_SUITE(sampler_table)

BOOST_AUTO_TEST_CASE(every_row_is_the_protos_value_and_every_value_has_a_row) {
  std::set<uint32_t> wires;
  std::set<models::sampler_kind> kinds;
  for (const auto& s : models::sampler_table) {
    std::string upper(s.horde_name);
    for (auto& c : upper)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    BOOST_TEST(v1::Sampler_Name(static_cast<v1::Sampler>(s.wire)) == upper);
    BOOST_TEST(wires.insert(s.wire).second, "wire value " << s.wire << " twice");
    BOOST_TEST(kinds.insert(s.kind).second, s.horde_name << " shares its algorithm");
    BOOST_TEST((&models::sampler_of(s.kind) == &s));
    BOOST_TEST((models::find_sampler(s.horde_name) == &s));
  }
  const auto* e = v1::Sampler_descriptor();
  for (int i = 0; i < e->value_count(); ++i)
    if (e->value(i)->number() != v1::SAMPLER_UNSPECIFIED)
      BOOST_TEST(wires.count(static_cast<uint32_t>(e->value(i)->number())) == 1u, e->value(i)->name());
  BOOST_TEST(models::sampler_of_wire(v1::SAMPLER_UNSPECIFIED).horde_name == "k_euler_a");
}

BOOST_AUTO_TEST_CASE(parsing_pricing_naming_and_swagger_read_the_table) {
  auto doc = json::parse(gateway::swagger_document("http://x"));
  const auto& field = doc["definitions"]["ModelGenerationInputStable"]["properties"]["sampler_name"];
  BOOST_TEST(field["enum"].size() == std::size(models::sampler_table));
  BOOST_TEST(field["default"] == std::string(models::default_sampler.horde_name));
  for (const auto& s : models::sampler_table) {
    std::string name(s.horde_name);
    gateway::generate_input in;
    gateway::field_errors errors;
    BOOST_REQUIRE(
        gateway::parse_generate(json{{"prompt", "x"}, {"params", {{"sampler_name", name}}}}, in, errors));
    BOOST_TEST(static_cast<uint32_t>(in.request.sampler()) == s.wire);
    BOOST_TEST(gateway::sampler_name(in.request.sampler()) == name);
    BOOST_TEST(ledger::model_calls_per_step(in.request.sampler()) == s.calls_per_step);
    BOOST_TEST(models::a1111_sampler_name(name) == std::string(s.a1111_name));
    BOOST_TEST(models::is_stochastic(s.kind) == s.stochastic);
    BOOST_TEST(field["x-display-names"][name] == std::string(s.a1111_name));
  }
  // Names crowdiff knows but does not run, and names nobody knows.
  BOOST_TEST(models::sampler_from_horde_name("k_dpm_fast").error().code() == errc::unsupported);
  gateway::generate_input in;
  gateway::field_errors errors;
  BOOST_TEST(
      !gateway::parse_generate(json{{"prompt", "x"}, {"params", {{"sampler_name", "k_nope"}}}}, in, errors));
  BOOST_TEST(errors.count("params.sampler_name") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
