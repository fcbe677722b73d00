#include "gateway/horde_requests.hpp"

#include <cmath>

#include "actors/scheduler/features.hpp"
#include "common/utf8.hpp"

namespace crowdiff::gateway {

using json = nlohmann::json;

bool parse_pop(const json& body, uint64_t owner, v1::WorkerRegistration& reg, field_errors& errors) {
  auto str = [&](const char* key, std::string& out, size_t max) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null())
      return false;
    if (!it->is_string() || it->get<std::string>().size() > max ||
        it->get<std::string>().find('\0') != std::string::npos) {
      errors[key] = "must be a string of at most " + std::to_string(max) + " characters";
      return false;
    }
    out = it->get<std::string>();
    return true;
  };
  auto flag = [&](const char* key, bool fallback) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null())
      return fallback;
    if (!it->is_boolean()) {
      errors[key] = "must be true or false";
      return fallback;
    }
    return it->get<bool>();
  };
  auto integer = [&](const char* key, int64_t lo, int64_t hi, int64_t fallback) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null())
      return fallback;
    if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
      errors[key] = "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
      return fallback;
    }
    return it->get<int64_t>();
  };
  std::string name;
  if (!str("name", name, 100) || name.empty())
    errors.emplace("name", "is required");
  reg.set_name(name);
  reg.set_owner_user_id(owner);
  reg.set_nsfw(flag("nsfw", true));
  reg.set_max_pixels(static_cast<uint64_t>(integer("max_pixels", 64 * 64, int64_t{1} << 32, 262'144)));
  reg.set_slots(static_cast<uint32_t>(integer("threads", 1, 50, 1)));
  integer("amount", 1, 20, 1);
  std::string agent = "unknown:0:unknown";
  str("bridge_agent", agent, 1000);
  reg.set_version(agent);
  reg.set_device("http worker (" + std::string(truncate_utf8(agent, 80)) + ")");
  uint32_t features = scheduling::feature_karras | scheduling::feature_clip_skip;
  if (flag("allow_img2img", true))
    features |= scheduling::feature_img2img;
  for (auto& f : scheduling::feature_names(features))
    reg.add_features(std::move(f));
  for (const char* known : {"allow_painting", "allow_unsafe_ipaddr", "allow_post_processing",
                            "allow_controlnet", "allow_sdxl_controlnet", "allow_lora", "limit_max_steps",
                            "extra_slow_worker", "require_upfront_kudos"})
    flag(known, false);
  if (auto it = body.find("models"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) {
      errors["models"] = "must be a list of model names";
    } else {
      for (const auto& m : *it) {
        if (!m.is_string() || m.get<std::string>().empty() || m.get<std::string>().size() > 255) {
          errors["models"] = "must be a list of model names";
          break;
        }
        if (reg.models_size() < 256) {
          auto* offer = reg.add_models();
          offer->set_name(m.get<std::string>());
          offer->set_loaded(true);
        }
      }
    }
  }
  if (reg.models_size() == 0 && errors.count("models") == 0)
    errors["models"] = "a worker must offer at least one model";
  return errors.empty();
}

bool parse_submit(const json& body, submit_input& out, field_errors& errors) {
  if (!body.is_object())
    errors["body"] = "must be a JSON object";
  std::string id_text =
      body.is_object() && body.contains("id") && body["id"].is_string() ? body["id"].get<std::string>() : "";
  auto image = uuid::parse(id_text);
  if (!image)
    errors["id"] = "must be a job id from a pop";
  std::string state = "ok";
  if (body.is_object() && body.contains("state")) {
    if (!body["state"].is_string())
      errors["state"] = "must be ok, censored, faulted or csam";
    else
      state = body["state"].get<std::string>();
  }
  if (state != "ok" && state != "censored" && state != "faulted" && state != "csam")
    errors["state"] = "must be ok, censored, faulted or csam";
  uint64_t seed = 0;
  if (body.is_object() && body.contains("seed") && !body["seed"].is_null()) {
    const auto& s = body["seed"];
    if (s.is_number_unsigned())
      seed = s.get<uint64_t>();
    else if (s.is_string() && s.get_ref<const std::string&>().size() > max_seed_chars)
      errors["seed"] = "must be at most " + std::to_string(max_seed_chars) + " characters";
    else if (s.is_string())
      seed = seed_from_text(s.get<std::string>());
    else if (s.is_number_integer() && state == "faulted")
      seed = 0;  // the legacy worker reports a fault with seed -1
    else
      errors["seed"] = s.is_number_integer() ? "must not be negative" : "must be a number";
  }
  std::string generation;
  if (body.is_object() && body.contains("generation") && !body["generation"].is_null()) {
    if (!body["generation"].is_string())
      errors["generation"] = "must be base64 or \"R2\"";
    else
      generation = body["generation"].get<std::string>();
  }
  if (!errors.empty())
    return false;
  out.image = image;
  out.state = std::move(state);
  out.seed = seed;
  out.generation = std::move(generation);
  return true;
}

bool parse_worker_changes(const json& body, worker_changes& out, field_errors& errors) {
  if (!body.is_object()) {
    errors["body"] = "must be a JSON object";
    return false;
  }
  for (const auto& [key, value] : body.items()) {
    if (key == "maintenance" && value.is_boolean())
      out.maintenance = value.get<bool>();
    else if (key == "info" && value.is_string() && value.get<std::string>().size() <= 1000 &&
             value.get<std::string>().find('\0') == std::string::npos)
      out.info = value.get<std::string>();
    else if (key == "maintenance_msg" || key == "paused" || key == "name" || key == "team")
      errors[key] = "is not supported by this server";
    else
      errors[key] = key == "maintenance" || key == "info" ? "has the wrong type" : "unknown field";
  }
  return errors.empty() && (out.maintenance || out.info);
}

bool parse_transfer(const json& body, transfer_input& out, field_errors& errors) {
  if (!body.is_object() || !body.contains("username") || !body["username"].is_string()) {
    errors["username"] = "is required";
    return false;
  }
  out.username = body["username"].get<std::string>();
  if (body.contains("amount")) {
    if (!body["amount"].is_number() || !std::isfinite(body["amount"].get<double>()) ||
        body["amount"].get<double>() <= 0 || body["amount"].get<double>() > 1e12) {
      errors["amount"] = "must be a positive number";
      return false;
    }
    out.amount_mk = std::llround(body["amount"].get<double>() * 1000);
  }
  return true;
}

}  // namespace crowdiff::gateway
