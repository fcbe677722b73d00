#include "baseline.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace crowdiff::bench {

namespace {

std::optional<double> number(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number())
    return std::nullopt;
  return j[key].get<double>();
}

std::string text(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

result<baseline_result> run_baseline(const std::string& python, const std::string& script,
                                     const std::vector<attention_shape>& shapes,
                                     const std::vector<unet_run>& runs, int steps) {
  std::string shape_arg, run_arg;
  for (const attention_shape& s : shapes)
    shape_arg += std::to_string(s.batch) + "," + std::to_string(s.heads) + "," + std::to_string(s.lq) + "," +
                 std::to_string(s.lk) + "," + std::to_string(s.head_dim) + ";";
  for (const unet_run& r : runs)
    run_arg += std::to_string(r.size) + "," + std::to_string(r.batch) + ";";
  const std::string command = "'" + python + "' -u '" + script + "' --attention '" + shape_arg +
                              "' --unet '" + run_arg + "' --steps " + std::to_string(steps);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr)
    return status{errc::unavailable, "cannot start " + command};
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe))
    output.append(buffer, n);
  const int exit_status = pclose(pipe);
  // The last line that parses as a JSON object is the answer; anything before it is the script's chatter.
  nlohmann::json answer;
  size_t end = output.size();
  while (end > 0) {
    const size_t begin = output.rfind('\n', end - 1);
    const std::string line = output.substr(begin == std::string::npos ? 0 : begin + 1,
                                           end - (begin == std::string::npos ? 0 : begin + 1));
    if (!line.empty() && line.front() == '{') {
      answer = nlohmann::json::parse(line, nullptr, false);
      if (answer.is_object())
        break;
    }
    if (begin == std::string::npos)
      break;
    end = begin;
  }
  if (!answer.is_object())
    return status{errc::unavailable, "the baseline script (" + command + ") exited with " +
                                         std::to_string(exit_status) + " and no JSON answer"};
  baseline_result out;
  out.device = text(answer, "device");
  out.torch = text(answer, "torch");
  if (answer.contains("errors") && answer["errors"].is_array()) {
    for (const auto& e : answer["errors"])
      out.errors.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  }
  const nlohmann::json attention = answer.value("attention", nlohmann::json::array());
  for (size_t i = 0; i < shapes.size(); ++i) {
    const nlohmann::json entry = i < attention.size() ? attention[i] : nlohmann::json();
    out.attention_tflops.push_back(number(entry, "tflops"));
    out.attention_backend.push_back(text(entry, "backend"));
  }
  const nlohmann::json unet = answer.value("unet", nlohmann::json());
  if (unet.is_object())
    out.diffusers = text(unet, "diffusers");
  const nlohmann::json unet_runs =
      unet.is_object() ? unet.value("runs", nlohmann::json::array()) : nlohmann::json();
  for (size_t i = 0; i < runs.size(); ++i) {
    const nlohmann::json entry =
        unet_runs.is_array() && i < unet_runs.size() ? unet_runs[i] : nlohmann::json();
    out.unet_steps_per_s.push_back(number(entry, "steps_per_s"));
    out.unet_images_per_s.push_back(number(entry, "images_per_s"));
  }
  return out;
}

}  // namespace crowdiff::bench
