#include "gateway/horde_json.hpp"

#include <array>
#include <cmath>
#include <set>
#include <string_view>

#include <sodium.h>

#include "actors/scheduler/features.hpp"
#include "common/clock.hpp"
#include "gateway/bounded_json.hpp"
#include "models/sampling/sampler_table.hpp"

namespace crowdiff::gateway {
namespace {

using json = nlohmann::json;

// Fields AI Horde accepts that change nothing here (or nothing unless set to a non-default value).
const std::set<std::string> top_level_known = {"prompt",
                                               "params",
                                               "nsfw",
                                               "trusted_workers",
                                               "validated_backends",
                                               "slow_workers",
                                               "extra_slow_workers",
                                               "censor_nsfw",
                                               "workers",
                                               "worker_blacklist",
                                               "models",
                                               "source_image",
                                               "source_processing",
                                               "source_mask",
                                               "extra_source_images",
                                               "r2",
                                               "shared",
                                               "replacement_filter",
                                               "dry_run",
                                               "proxied_account",
                                               "disable_batching",
                                               "allow_downgrade",
                                               "webhook",
                                               "style",
                                               "client_agent",
                                               "idempotency_key"};
const std::set<std::string> params_known = {"sampler_name",
                                            "cfg_scale",
                                            "denoising_strength",
                                            "hires_fix_denoising_strength",
                                            "seed",
                                            "seed_variation",
                                            "height",
                                            "width",
                                            "steps",
                                            "n",
                                            "post_processing",
                                            "karras",
                                            "tiling",
                                            "hires_fix",
                                            "clip_skip",
                                            "control_type",
                                            "image_is_control",
                                            "return_control_map",
                                            "facefixer_strength",
                                            "loras",
                                            "tis",
                                            "special",
                                            "workflow",
                                            "extra_texts",
                                            "transparent",
                                            "scheduler"};

bool get_bool(const json& obj, const char* key, bool fallback, field_errors& errors,
              const std::string& prefix = {}) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return fallback;
  if (!it->is_boolean()) {
    errors[prefix + key] = "must be true or false";
    return fallback;
  }
  return it->get<bool>();
}

bool get_int(const json& obj, const char* key, int64_t lo, int64_t hi, int64_t fallback, int64_t& out,
             field_errors& errors, const std::string& prefix = {}) {
  out = fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (!it->is_number_integer() &&
      !(it->is_number_float() && std::floor(it->get<double>()) == it->get<double>())) {
    errors[prefix + key] = "must be a whole number";
    return false;
  }
  double v = it->get<double>();
  if (v < static_cast<double>(lo) || v > static_cast<double>(hi)) {
    errors[prefix + key] = "must be from " + std::to_string(lo) + " to " + std::to_string(hi);
    return false;
  }
  out = static_cast<int64_t>(v);
  return true;
}

bool get_number(const json& obj, const char* key, double lo, double hi, double fallback, double& out,
                field_errors& errors, const std::string& prefix = {}) {
  out = fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return true;
  if (!it->is_number()) {
    errors[prefix + key] = "must be a number";
    return false;
  }
  double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "must be from %g to %g", lo, hi);
    errors[prefix + key] = buf;
    return false;
  }
  out = v;
  return true;
}

bool get_string(const json& obj, const char* key, std::string& out, field_errors& errors, size_t max_len,
                const std::string& prefix = {}) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return false;
  if (!it->is_string()) {
    errors[prefix + key] = "must be a string";
    return false;
  }
  out = it->get<std::string>();
  if (out.size() > max_len) {
    errors[prefix + key] = "is longer than " + std::to_string(max_len) + " characters";
    return false;
  }
  if (out.find('\0') != std::string::npos) {
    errors[prefix + key] = "contains a NUL byte";
    return false;
  }
  return true;
}

// True when `v` is a multiple of 64; otherwise false, with an error for `key`.
bool multiple_of_64(int64_t v, const char* key, const std::string& prefix, field_errors& errors) {
  if (v % 64 == 0)
    return true;
  errors[prefix + key] = "must be a multiple of 64";
  return false;
}

// A feature this server cannot honour is an error when it is asked for, not when it is sent at its default.
void refuse_if_set(const json& obj, const char* key, const std::string& prefix, field_errors& errors) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return;
  bool set = (it->is_boolean() && it->get<bool>()) || (it->is_array() && !it->empty()) ||
             (it->is_object() && !it->empty()) || (it->is_string() && !it->get<std::string>().empty()) ||
             (it->is_number() && it->get<double>() != 0);
  if (set)
    errors[prefix + key] = "is not supported by this server";
}

// The most significant base-2^32 digit of a number given as base-256 little-endian bytes.
uint64_t top_limb(const std::vector<uint8_t>& le_bytes) {
  size_t last = le_bytes.size();
  while (last > 0 && le_bytes[last - 1] == 0)
    --last;
  if (last == 0)
    return 0;
  size_t limb = (last - 1) / 4;
  uint64_t v = 0;
  for (size_t i = limb * 4 + 4; i-- > limb * 4;)
    v = (v << 8) | (i < le_bytes.size() ? le_bytes[i] : 0);
  return v;
}

}  // namespace

namespace {

// Each byte's meaning in standard base64: its 6-bit value, or one of these.
constexpr uint8_t b64_space = 64;    // whitespace between characters: skipped
constexpr uint8_t b64_pad = 65;      // '='
constexpr uint8_t b64_invalid = 66;  // anything else

constexpr std::array<uint8_t, 256> base64_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t)
    v = b64_invalid;
  constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < alphabet.size(); ++i)
    t[static_cast<uint8_t>(alphabet[i])] = static_cast<uint8_t>(i);
  t[' '] = t['\n'] = t['\r'] = b64_space;
  t['='] = b64_pad;
  return t;
}

}  // namespace

// A table per byte rather than libsodium's decoder: an HTTP worker's image arrives here as half a megabyte of
// base64 on the gateway's one HTTP thread, where libsodium's general decoder took a quarter of that thread's
// time per submit. Equally strict: padding only at the end and complete, no bits left over.
bool decode_base64(std::string_view text, std::string& out) {
  static constexpr auto table = base64_table();
  if (text.starts_with("data:"))
    if (auto comma = text.find(','); comma != std::string_view::npos)
      text.remove_prefix(comma + 1);
  out.resize(text.size() / 4 * 3 + 3);
  size_t written = 0;
  uint32_t acc = 0;
  int held = 0;  // 6-bit groups in acc
  int padding = 0;
  for (char c : text) {
    uint8_t v = table[static_cast<uint8_t>(c)];
    if (v < 64) {
      if (padding != 0)
        return false;  // data after '='
      acc = (acc << 6) | v;
      if (++held == 4) {
        out[written++] = static_cast<char>(acc >> 16);
        out[written++] = static_cast<char>((acc >> 8) & 0xff);
        out[written++] = static_cast<char>(acc & 0xff);
        acc = 0;
        held = 0;
      }
    } else if (v == b64_pad) {
      if (++padding > 2)
        return false;
    } else if (v != b64_space) {
      return false;
    }
  }
  if (padding != 0) {
    // "xx==" carries one byte and "xxx=" two; the bits beyond them must be zero (one encoding per input).
    if (held + padding != 4)
      return false;
    if (held == 2) {
      if ((acc & 0xf) != 0)
        return false;
      out[written++] = static_cast<char>(acc >> 4);
    } else {
      if ((acc & 0x3) != 0)
        return false;
      out[written++] = static_cast<char>(acc >> 10);
      out[written++] = static_cast<char>((acc >> 2) & 0xff);
    }
  } else if (held != 0) {
    return false;  // an incomplete group without its padding
  }
  out.resize(written);
  return true;
}

uint64_t seed_from_text(const std::string& text) {
  bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits)
    return top_limb(std::vector<uint8_t>(text.begin(), text.end()));
  // Decimal to little-endian bytes by repeated multiply-add.
  std::vector<uint8_t> bytes;
  for (char c : text) {
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto& b : bytes) {
      unsigned v = b * 10u + carry;
      b = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  return top_limb(bytes);
}

uuid image_id(const uuid& job, uint32_t index) {
  unsigned char buf[20];
  std::memcpy(buf, job.bytes.data(), 16);
  for (int i = 0; i < 4; ++i)
    buf[16 + i] = static_cast<unsigned char>(index >> (8 * i));
  uuid out;
  crypto_generichash(out.bytes.data(), out.bytes.size(), buf, sizeof buf, nullptr, 0);
  out.bytes[6] = static_cast<uint8_t>((out.bytes[6] & 0x0f) | 0x50);
  out.bytes[8] = static_cast<uint8_t>((out.bytes[8] & 0x3f) | 0x80);
  return out;
}

std::string sampler_name(v1::Sampler s) {
  return std::string(models::sampler_of_wire(s).horde_name);
}

bool parse_generate(const json& body, generate_input& out, field_errors& errors) {
  if (!body.is_object()) {
    errors["body"] = "must be a JSON object";
    return false;
  }
  for (const auto& [key, value] : body.items())
    if (top_level_known.count(key) == 0)
      errors[key] = "unknown field";
  auto& r = out.request;
  std::string prompt;
  if (!get_string(body, "prompt", prompt, errors, 100'000) && errors.count("prompt") == 0)
    errors["prompt"] = "is required";
  if (prompt.empty() && errors.count("prompt") == 0)
    errors["prompt"] = "must not be empty";
  if (auto split = prompt.find("###"); split != std::string::npos) {
    r.set_negative_prompt(prompt.substr(split + 3));
    prompt.resize(split);
  }
  r.set_prompt(prompt);
  json params = json::object();
  if (auto it = body.find("params"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      errors["params"] = "must be an object";
    else
      params = *it;
  }
  for (const auto& [key, value] : params.items())
    if (params_known.count(key) == 0)
      errors["params." + key] = "unknown field";
  const std::string p = "params.";

  std::string sampler(models::default_sampler.horde_name);
  get_string(params, "sampler_name", sampler, errors, 64, p);
  r.set_sampler(v1::SAMPLER_UNSPECIFIED);
  if (const auto* known = models::find_sampler(sampler))
    r.set_sampler(static_cast<v1::Sampler>(known->wire));
  else if (errors.count(p + "sampler_name") == 0)
    errors[p + "sampler_name"] = "'" + sampler + "' is not a sampler this server runs";
  double cfg = 5.0;
  get_number(params, "cfg_scale", 0, 100, 5.0, cfg, errors, p);
  r.set_cfg_scale(static_cast<float>(cfg));
  int64_t v = 0;
  // AI Horde sizes are multiples of 64; horde-sdk workers refuse a pop with any other size.
  if (get_int(params, "width", 64, 3072, 512, v, errors, p) && multiple_of_64(v, "width", p, errors))
    r.set_width(static_cast<uint32_t>(v));
  if (get_int(params, "height", 64, 3072, 512, v, errors, p) && multiple_of_64(v, "height", p, errors))
    r.set_height(static_cast<uint32_t>(v));
  if (get_int(params, "steps", 1, 500, 30, v, errors, p))
    r.set_steps(static_cast<uint32_t>(v));
  if (get_int(params, "n", 1, 20, 1, v, errors, p))
    r.set_n(static_cast<uint32_t>(v));
  if (get_int(params, "clip_skip", 1, 12, 1, v, errors, p))
    r.set_clip_skip(static_cast<uint32_t>(v));
  r.set_karras(get_bool(params, "karras", true, errors, p));
  // AI Horde: with n > 1, image i's seed is the seed plus i times this.
  if (get_int(params, "seed_variation", 1, 1000, 1, v, errors, p))
    r.set_seed_variation(static_cast<uint32_t>(v));
  if (auto it = params.find("seed"); it != params.end() && !it->is_null()) {
    if (it->is_string()) {
      auto text = it->get<std::string>();
      if (text.size() > max_seed_chars)
        errors[p + "seed"] = "must be at most " + std::to_string(max_seed_chars) + " characters";
      else if (!text.empty())
        r.set_seed(seed_from_text(text));
    } else if (it->is_number_unsigned()) {
      r.set_seed(seed_from_text(std::to_string(it->get<uint64_t>())));
    } else {
      errors[p + "seed"] = "must be a string";
    }
  }
  for (const char* key : {"post_processing", "tiling", "hires_fix", "control_type", "image_is_control",
                          "return_control_map", "loras", "tis", "special", "workflow", "extra_texts",
                          "transparent", "facefixer_strength", "hires_fix_denoising_strength"})
    refuse_if_set(params, key, p, errors);

  r.set_nsfw(get_bool(body, "nsfw", true, errors));
  if (auto it = body.find("models"); it == body.end() || it->is_null()) {
    r.add_models("stable_diffusion");
  } else if (!it->is_array()) {
    errors["models"] = "must be a list of model names";
  } else {
    for (const auto& m : *it) {
      if (!m.is_string() || m.get<std::string>().empty() || m.get<std::string>().size() > 255) {
        errors["models"] = "must be a list of model names";
        break;
      }
      r.add_models(m.get<std::string>());
    }
  }
  if (auto it = body.find("workers"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) {
      errors["workers"] = "must be a list of worker ids";
    } else {
      bool deny = get_bool(body, "worker_blacklist", false, errors);
      for (const auto& w : *it) {
        if (!w.is_string()) {
          errors["workers"] = "must be a list of worker ids";
          break;
        }
        if (deny)
          r.add_worker_deny(w.get<std::string>());
        else
          r.add_worker_allow(w.get<std::string>());
      }
    }
  }
  std::string source;
  if (get_string(body, "source_image", source, errors, 48u << 20) && !source.empty()) {
    if (source.rfind("http://", 0) == 0 || source.rfind("https://", 0) == 0) {
      errors["source_image"] = "URLs are not fetched by this server; send the image as base64";
    } else {
      std::string bytes;
      if (!decode_base64(source, bytes))
        errors["source_image"] = "is not valid base64";
      else
        r.set_source_image(std::move(bytes));
    }
    double strength = 0.75;
    get_number(params, "denoising_strength", 0.01, 1.0, 0.75, strength, errors, p);
    r.set_denoising_strength(static_cast<float>(strength));
    std::string processing = "img2img";
    get_string(body, "source_processing", processing, errors, 32);
    if (processing != "img2img")
      errors["source_processing"] = "only img2img is supported";
  } else {
    // Clients send a default denoising strength with text-to-image requests; it means nothing there.
    double ignored = 0;
    get_number(params, "denoising_strength", 0.01, 1.0, 0, ignored, errors, p);
  }
  for (const char* key : {"source_mask", "extra_source_images", "style", "proxied_account"})
    refuse_if_set(body, key, "", errors);
  r.set_inline_images(!get_bool(body, "r2", true, errors));
  std::string webhook;
  if (get_string(body, "webhook", webhook, errors, 1024) && !webhook.empty()) {
    if (auto url = parse_webhook_url(webhook); !url) {
      errors["webhook"] = url.error().message();
    } else {
      r.set_webhook(webhook);
      out.webhook = std::move(*url);
    }
  }
  std::string key;
  if (get_string(body, "idempotency_key", key, errors, 128))
    r.set_idempotency_key(key);
  out.dry_run = get_bool(body, "dry_run", false, errors);
  r.set_allow_downgrade(get_bool(body, "allow_downgrade", false, errors));
  for (const char* flag :
       {"trusted_workers", "validated_backends", "slow_workers", "extra_slow_workers", "censor_nsfw",
        "shared", "replacement_filter", "disable_batching", "worker_blacklist"})
    get_bool(body, flag, false, errors);
  return errors.empty();
}

json check_json(const v1::JobStatus& s, int64_t now_ms) {
  bool terminal = s.state() == v1::DONE || s.state() == v1::FAILED || s.state() == v1::CANCELLED;
  int64_t wait_s = 0;
  if (!terminal && s.estimated_finish_ms() > now_ms)
    wait_s = (s.estimated_finish_ms() - now_ms + 999) / 1000;
  json out;
  out["finished"] = s.images_done();
  out["processing"] = s.images_running();
  out["restarted"] = s.images_restarted();
  out["waiting"] = terminal ? 0 : s.images_waiting();
  out["done"] = terminal;
  out["faulted"] = s.state() == v1::FAILED;
  out["wait_time"] = wait_s;
  out["queue_position"] = terminal ? 0 : s.queue_position();
  out["kudos"] = static_cast<int64_t>(std::llround(static_cast<double>(s.charged_mk()) / 1000.0));
  out["is_possible"] = terminal ? true : s.possible();
  return out;
}

json generation_json(const v1::GenerationResult& r, const uuid& job, std::string img) {
  json g;
  g["img"] = std::move(img);
  g["seed"] = std::to_string(r.seed());
  g["id"] = image_id(job, r.image_index()).to_string();
  g["censored"] = false;
  g["gen_metadata"] = json::array();
  g["worker_id"] = std::to_string(r.worker_id());
  g["worker_name"] = r.worker_name();
  g["model"] = r.model();
  g["state"] = "ok";
  return g;
}

json worker_json(const worker_summary& w, const v1::WorkerRecord* record, bool online) {
  json out;
  out["type"] = "image";
  out["name"] = w.name;
  out["id"] = std::to_string(w.id);
  out["online"] = online;
  out["requests_fulfilled"] = record ? record->images_done() : w.images_done;
  out["uncompleted_jobs"] = record ? record->faults() : 0;
  double kudos = static_cast<double>(record ? record->kudos_earned_mk() : w.kudos_earned_mk) / 1000.0;
  out["kudos_rewards"] = kudos;
  out["kudos_details"] = {{"generated", kudos}, {"uptime", 0}};
  char perf[64];
  std::snprintf(perf, sizeof perf, "%.2f megapixelsteps per second", w.mps_per_s);
  out["performance"] = perf;
  out["threads"] = std::max<uint32_t>(1, w.slots);
  int64_t uptime = record ? record->uptime_s() : 0;
  out["uptime"] = uptime;
  out["maintenance_mode"] = false;
  out["info"] = "";
  out["trusted"] = false;
  out["flagged"] = false;
  out["nsfw"] = record ? record->registration().nsfw() : true;
  json models = json::array();
  size_t start = 0;
  while (start < w.models.size()) {
    auto comma = w.models.find(',', start);
    models.push_back(w.models.substr(start, comma - start));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  out["models"] = models;
  out["max_pixels"] = record ? record->registration().max_pixels() : 0;
  // An integer, as AI Horde sends it (horde-sdk refuses a fraction here).
  out["megapixelsteps_generated"] = record ? std::llround(record->megapixel_steps_done()) : 0;
  bool img2img = false;
  if (record)
    for (const auto& f : record->registration().features())
      img2img |= scheduling::feature_bit(f) == scheduling::feature_img2img;
  out["img2img"] = img2img;
  out["painting"] = false;
  out["post-processing"] = false;
  out["controlnet"] = false;
  out["sdxl_controlnet"] = false;
  out["lora"] = false;
  out["bridge_agent"] = record ? record->registration().version() : "";
  out["device"] = w.device;
  out["owner"] = std::to_string(w.owner);
  return out;
}

std::string error_body(const std::string& message, const std::string& rc, const field_errors& errors) {
  json out;
  out["message"] = message;
  out["rc"] = rc;
  if (!errors.empty())
    out["errors"] = errors;
  return write_json(out);
}

std::pair<unsigned, std::string> http_error_of(const status& s) {
  switch (s.code()) {
    case errc::invalid_argument:
      return {400, "BadRequest"};
    case errc::unauthenticated:
      return {401, "InvalidAPIKey"};
    case errc::permission_denied:
      return {403, "Forbidden"};
    case errc::not_found:
      return {404, "RequestNotFound"};
    case errc::already_exists:
      return {400, "AlreadyExists"};
    case errc::insufficient_kudos:
      return {400, "KudosTransferNotEnough"};
    case errc::failed_precondition:
      return {400, "BadRequest"};
    case errc::resource_exhausted:
      return {429, "TooManyPrompts"};
    case errc::unavailable:
      return {503, "Unavailable"};
    case errc::deadline_exceeded:
      return {504, "Timeout"};
    case errc::unsupported:
      return {400, "Unsupported"};
    default:
      return {500, "InternalServerError"};
  }
}

}  // namespace crowdiff::gateway
