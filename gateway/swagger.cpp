#include "gateway/swagger.hpp"

#include <nlohmann/json.hpp>

#include "gateway/bounded_json.hpp"
#include "models/sampling/sampler_table.hpp"

namespace crowdiff::gateway {
namespace {

using json = nlohmann::json;

json op(const std::string& summary, const std::string& tag, bool key, std::vector<json> params,
        json responses) {
  json o;
  o["summary"] = summary;
  o["tags"] = json::array({tag});
  o["produces"] = json::array({"application/json"});
  json ps = json::array();
  if (key)
    ps.push_back(json{{"name", "apikey"},
                      {"in", "header"},
                      {"type", "string"},
                      {"required", false},
                      {"description", "The user's API key; 0000000000 is anonymous"}});
  ps.push_back(json{{"name", "Client-Agent"},
                    {"in", "header"},
                    {"type", "string"},
                    {"required", false},
                    {"description", "name:version:contact"}});
  for (auto& p : params)
    ps.push_back(std::move(p));
  o["parameters"] = ps;
  o["responses"] = std::move(responses);
  return o;
}

json path_id(const std::string& what) {
  return json{{"name", "id"}, {"in", "path"}, {"type", "string"}, {"required", true}, {"description", what}};
}

json body_of(const std::string& model) {
  return json{{"name", "payload"},
              {"in", "body"},
              {"required", true},
              {"schema", {{"$ref", "#/definitions/" + model}}}};
}

json ok(const std::string& model, const std::string& code = "200") {
  json r;
  r[code] = json{{"description", "Success"}, {"schema", {{"$ref", "#/definitions/" + model}}}};
  r["400"] = json{{"description", "Validation error"}, {"schema", {{"$ref", "#/definitions/RequestError"}}}};
  r["401"] = json{{"description", "Invalid API key"}, {"schema", {{"$ref", "#/definitions/RequestError"}}}};
  r["404"] = json{{"description", "Not found"}, {"schema", {{"$ref", "#/definitions/RequestError"}}}};
  r["429"] = json{{"description", "Too many requests"}, {"schema", {{"$ref", "#/definitions/RequestError"}}}};
  return r;
}

json object(std::initializer_list<std::pair<const char*, json>> props,
            std::vector<std::string> required = {}) {
  json o{{"type", "object"}, {"properties", json::object()}};
  for (const auto& [k, v] : props)
    o["properties"][k] = v;
  if (!required.empty())
    o["required"] = required;
  return o;
}

json type(const char* t) {
  return json{{"type", t}};
}

}  // namespace

std::string swagger_document(const std::string& public_url) {
  json doc;
  doc["swagger"] = "2.0";
  doc["info"] = {{"title", "crowdiff (AI Horde v2 compatible)"},
                 {"version", "2.5"},
                 {"description", "A crowdsourced image generation network speaking the AI Horde v2 API."}};
  doc["basePath"] = "/api";
  doc["host"] =
      public_url.substr(public_url.find("://") == std::string::npos ? 0 : public_url.find("://") + 3);
  doc["consumes"] = json::array({"application/json"});
  doc["produces"] = json::array({"application/json"});
  auto& p = doc["paths"];
  p["/v2/generate/async"]["post"] =
      op("Request images; 202 with the request id (dry_run: 200 with the price)", "generate", true,
         {body_of("GenerationInputStable")}, ok("RequestAsync", "202"));
  p["/v2/generate/check/{id}"]["get"] =
      op("Lite status of a request", "generate", false, {path_id("request id")}, ok("RequestStatusCheck"));
  p["/v2/generate/status/{id}"]["get"] = op("Full status with the images", "generate", false,
                                            {path_id("request id")}, ok("RequestStatusStable"));
  p["/v2/generate/status/{id}"]["delete"] = op("Cancel a request; returns its status", "generate", false,
                                               {path_id("request id")}, ok("RequestStatusStable"));
  p["/v2/generate/events/{id}"]["get"] =
      op("Live events of a request (text/event-stream: state, progress, image, generation)", "generate",
         false, {path_id("request id")}, json{{"200", {{"description", "An event stream"}}}});
  p["/v2/generate/pop"]["post"] = op("A worker asks for a job", "generate", true, {body_of("PopInputStable")},
                                     ok("GenerationPayloadStable"));
  p["/v2/generate/submit"]["post"] = op("A worker delivers an image", "generate", true,
                                        {body_of("SubmitInputStable")}, ok("GenerationSubmitted"));
  p["/v2/status/heartbeat"]["get"] = op("Is the node up", "status", false, {}, ok("Heartbeat"));
  p["/v2/status/models"]["get"] =
      op("Models with their supply and demand", "status", false, {}, ok("ActiveModels"));
  p["/v2/status/performance"]["get"] = op("The network's load", "status", false, {}, ok("HordePerformance"));
  p["/v2/workers"]["get"] = op("Online workers", "workers", false, {}, ok("WorkerList"));
  p["/v2/workers/{id}"]["get"] =
      op("One worker", "workers", false, {path_id("worker id")}, ok("WorkerDetails"));
  p["/v2/workers/{id}"]["put"] = op("The owner changes maintenance or info", "workers", true,
                                    {path_id("worker id"), body_of("ModifyWorkerInput")}, ok("ModifyWorker"));
  p["/v2/users"]["get"] =
      op("Users by kudos (a leaderboard) or by age, 25 a page", "users", false,
         {json{{"name", "sort"}, {"in", "query"}, {"type", "string"}, {"enum", {"kudos", "age"}}},
          json{{"name", "page"}, {"in", "query"}, {"type", "integer"}}},
         ok("UserList"));
  p["/v2/users/{id}"]["get"] =
      op("A user by id or alias#id", "users", false, {path_id("user id")}, ok("UserDetails"));
  p["/v2/find_user"]["get"] = op("The user an API key belongs to", "users", true, {}, ok("UserDetails"));
  p["/v2/kudos/transfer"]["post"] = op("Give kudos to another user", "kudos", true,
                                       {body_of("KudosTransferInput")}, ok("KudosTransferred"));
  p["/v2/stats/img/totals"]["get"] =
      op("Images made per minute, hour, day, month and in all", "stats", false, {}, ok("StatsImgTotals"));

  auto& d = doc["definitions"];
  d["RequestError"] =
      object({{"message", type("string")}, {"rc", type("string")}, {"errors", type("object")}});
  json samplers = type("string");
  for (const auto& s : models::sampler_table) {
    samplers["enum"].push_back(s.horde_name);
    samplers["x-display-names"][std::string(s.horde_name)] = s.a1111_name;
  }
  samplers["default"] = models::default_sampler.horde_name;
  d["ModelGenerationInputStable"] = object({{"sampler_name", samplers},
                                            {"cfg_scale", type("number")},
                                            {"denoising_strength", type("number")},
                                            {"seed", type("string")},
                                            {"seed_variation", type("integer")},
                                            {"height", type("integer")},
                                            {"width", type("integer")},
                                            {"steps", type("integer")},
                                            {"n", type("integer")},
                                            {"karras", type("boolean")},
                                            {"clip_skip", type("integer")}});
  d["GenerationInputStable"] = object({{"prompt", type("string")},
                                       {"params", {{"$ref", "#/definitions/ModelGenerationInputStable"}}},
                                       {"nsfw", type("boolean")},
                                       {"models", {{"type", "array"}, {"items", type("string")}}},
                                       {"workers", {{"type", "array"}, {"items", type("string")}}},
                                       {"worker_blacklist", type("boolean")},
                                       {"source_image", type("string")},
                                       {"source_processing", type("string")},
                                       {"r2", type("boolean")},
                                       {"dry_run", type("boolean")},
                                       {"allow_downgrade", type("boolean")},
                                       {"webhook", type("string")}},
                                      {"prompt"});
  d["RequestAsync"] =
      object({{"id", type("string")}, {"kudos", type("number")}, {"message", type("string")}});
  d["RequestStatusCheck"] = object({{"finished", type("integer")},
                                    {"processing", type("integer")},
                                    {"restarted", type("integer")},
                                    {"waiting", type("integer")},
                                    {"done", type("boolean")},
                                    {"faulted", type("boolean")},
                                    {"wait_time", type("integer")},
                                    {"queue_position", type("integer")},
                                    {"kudos", type("number")},
                                    {"is_possible", type("boolean")}});
  d["GenerationStable"] = object({{"img", type("string")},
                                  {"seed", type("string")},
                                  {"id", type("string")},
                                  {"censored", type("boolean")},
                                  {"worker_id", type("string")},
                                  {"worker_name", type("string")},
                                  {"model", type("string")},
                                  {"state", type("string")}});
  d["RequestStatusStable"] = d["RequestStatusCheck"];
  d["RequestStatusStable"]["properties"]["generations"] = {
      {"type", "array"}, {"items", {{"$ref", "#/definitions/GenerationStable"}}}};
  d["RequestStatusStable"]["properties"]["shared"] = type("boolean");
  d["PopInputStable"] = object({{"name", type("string")},
                                {"models", {{"type", "array"}, {"items", type("string")}}},
                                {"nsfw", type("boolean")},
                                {"max_pixels", type("integer")},
                                {"threads", type("integer")},
                                {"bridge_agent", type("string")},
                                {"amount", type("integer")},
                                {"allow_img2img", type("boolean")}},
                               {"name"});
  d["GenerationPayloadStable"] = object({{"id", type("string")},
                                         {"ids", {{"type", "array"}, {"items", type("string")}}},
                                         {"payload", type("object")},
                                         {"model", type("string")},
                                         {"ttl", type("integer")},
                                         {"r2_upload", type("string")},
                                         {"r2_uploads", {{"type", "array"}, {"items", type("string")}}},
                                         {"skipped", type("object")}});
  d["SubmitInputStable"] = object({{"id", type("string")},
                                   {"generation", type("string")},
                                   {"state", type("string")},
                                   {"seed", type("integer")}},
                                  {"id", "generation"});
  d["GenerationSubmitted"] = object({{"reward", type("number")}});
  d["Heartbeat"] = object({{"message", type("string")}, {"version", type("string")}});
  d["ActiveModels"] = {{"type", "array"},
                       {"items", object({{"name", type("string")},
                                         {"count", type("integer")},
                                         {"performance", type("number")},
                                         {"queued", type("number")},
                                         {"jobs", type("number")},
                                         {"eta", type("integer")},
                                         {"type", type("string")}})}};
  d["HordePerformance"] = object({{"queued_requests", type("integer")},
                                  {"queued_megapixelsteps", type("number")},
                                  {"past_minute_megapixelsteps", type("number")},
                                  {"worker_count", type("integer")},
                                  {"thread_count", type("integer")}});
  d["WorkerDetails"] = object({{"type", type("string")},
                               {"name", type("string")},
                               {"id", type("string")},
                               {"online", type("boolean")},
                               {"requests_fulfilled", type("integer")},
                               {"kudos_rewards", type("number")},
                               {"performance", type("string")},
                               {"threads", type("integer")},
                               {"maintenance_mode", type("boolean")},
                               {"info", type("string")},
                               {"models", {{"type", "array"}, {"items", type("string")}}},
                               {"max_pixels", type("integer")}});
  d["WorkerList"] = {{"type", "array"}, {"items", {{"$ref", "#/definitions/WorkerDetails"}}}};
  d["ModifyWorkerInput"] = object({{"maintenance", type("boolean")}, {"info", type("string")}});
  d["ModifyWorker"] = d["ModifyWorkerInput"];
  d["UserDetails"] = object({{"username", type("string")},
                             {"id", type("integer")},
                             {"kudos", type("number")},
                             {"concurrency", type("integer")},
                             {"worker_count", type("integer")}});
  d["UserList"] = {{"type", "array"}, {"items", {{"$ref", "#/definitions/UserDetails"}}}};
  d["KudosTransferInput"] = object({{"username", type("string")}, {"amount", type("number")}}, {"username"});
  d["KudosTransferred"] = object({{"transferred", type("number")}});
  json window = object({{"images", type("integer")}, {"ps", type("number")}});
  d["StatsImgTotals"] =
      object({{"minute", window}, {"hour", window}, {"day", window}, {"month", window}, {"total", window}});
  return write_json(doc);
}

}  // namespace crowdiff::gateway
