#include "apps/crowdiff/local_generators.hpp"

#include <cstdlib>
#include <optional>
#include <unistd.h>

#include "actors/worker/worker_devices.hpp"
#include "common/log.hpp"
#include "models/pipeline/heap_policy.hpp"
#include "persistence/user_table.hpp"

namespace crowdiff::app {

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(separator, start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos)
      return out;
    start = end + 1;
  }
}

// "v1-5-pruned-emaonly.safetensors" -> "v1-5-pruned-emaonly"; a folder "stable-diffusion-v1-5/" -> its name.
std::string name_from_path(const std::filesystem::path& path) {
  std::filesystem::path p = path;
  if (!p.has_filename())
    p = p.parent_path();
  return std::filesystem::is_directory(p) ? p.filename().string() : p.stem().string();
}

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0')
    return "cpu-worker";
  return buffer;
}

}  // namespace

result<std::vector<model_source>> model_sources(const command_line& cli) {
  std::vector<model_source> out;
  const auto list = cli.get("model");
  if (!list)
    return out;
  for (const std::string& entry : split(*list, ',')) {
    if (entry.empty())
      return status{errc::invalid_argument, "--model has an empty entry"};
    model_source source;
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) {
      source.name = entry.substr(0, eq);
      source.path = entry.substr(eq + 1);
      if (source.name.empty() || source.path.empty())
        return status{errc::invalid_argument, "--model " + entry + ": expected NAME=PATH"};
    } else {
      source.path = entry;
    }
    out.push_back(std::move(source));
  }
  if (auto name = cli.get("model-name")) {
    if (name->empty())
      return status{errc::invalid_argument, "--model-name is empty"};
    if (out.front().name.empty())
      out.front().name = *name;
  }
  for (model_source& source : out) {
    if (source.name.empty())
      source.name = name_from_path(source.path);
    // SD 2.x 768-v single files cannot say so themselves (a folder's scheduler config or a YAML beside the
    // file can).
    if (cli.has("v-prediction"))
      source.options.weights.prediction = models::prediction_type::v_prediction;
  }
  return out;
}

std::filesystem::path default_hash_cache() {
  std::filesystem::path base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
    base = xdg;
  else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    base = std::filesystem::path(home) / ".cache";
  else
    return {};
  std::error_code ec;
  std::filesystem::create_directories(base / "crowdiff", ec);
  return ec ? std::filesystem::path() : base / "crowdiff" / "model-hashes.json";
}

result<std::vector<named_generator>> local_generators(const command_line& cli, const v1::NodeConfig& config) {
  std::vector<named_generator> out;
  auto sources = model_sources(cli);
  if (!sources)
    return sources.error();
  if (sources->empty())
    return out;
  pipeline_generator_options options;
  options.models = std::move(*sources);
  options.hash_cache = default_hash_cache();
  if (auto threads = cli.get("threads")) {
    char* end = nullptr;
    const long n = std::strtol(threads->c_str(), &end, 10);
    if (end == threads->c_str() || *end != '\0' || n < 1 || n > 1024)
      return status{errc::invalid_argument, "--threads takes a number of threads from 1 to 1024"};
    options.threads = static_cast<int>(n);
  }
  models::return_large_blocks_to_the_system();
  const std::string name = config.worker().name().empty() ? host_name() : config.worker().name();
  // One worker per usable GPU, else one on the CPU; each line says what was skipped, or why the CPU runs.
  const device_plan plan = plan_local_devices(cli.has("cpu"));
  for (const std::string& note : plan.notes)
    log::info("worker_device").kv("note", note);
  // A GPU whose generator cannot start (out of memory, a faulted device) is skipped with a line; the others
  // still work. When none starts, the CPU runs; when that fails too, the GPU's error is the answer.
  std::optional<status> gpu_error;
  for (const gpu_description& gpu : plan.gpus) {
    pipeline_generator_options on_gpu = options;
    on_gpu.cuda_device = gpu.ordinal;
    auto gen = pipeline_generator::create(std::move(on_gpu));
    if (!gen) {
      log::warning("worker_device").kv("device", gpu.description).kv("skipped", gen.error().to_string());
      gpu_error = status(gen.error()).with_context(gpu.description);
      continue;
    }
    const std::string worker = plan.gpus.size() > 1 ? name + "-gpu" + std::to_string(gpu.ordinal) : name;
    log::info("worker_device").kv("worker", worker).kv("device", gpu.description);
    out.push_back({worker, std::shared_ptr<generator>(std::move(*gen))});
  }
  if (!out.empty())
    return out;
  if (gpu_error)
    log::warning("worker_device").kv("note", "no GPU could start a worker: CPU backend");
  auto gen = pipeline_generator::create(std::move(options));
  if (!gen)
    return gpu_error ? *gpu_error : gen.error();
  out.push_back({name, std::shared_ptr<generator>(std::move(*gen))});
  return out;
}

uint64_t local_owner(persistence::store& store) {
  uint64_t owner = 0;
  auto txn = store.read();
  if (!txn)
    return 0;
  auto s = persistence::user_table::scan(
      **txn,
      [&](v1::UserRecord& u) {
        if (u.admin())
          owner = u.id();
        return owner == 0;
      },
      persistence::log_and_skip("local_owner"));
  (void)s;
  return owner;
}

}  // namespace crowdiff::app
