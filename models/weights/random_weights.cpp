#include "models/weights/random_weights.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kernels/half.hpp"

namespace crowdiff::models {

namespace {

// splitmix64's finalizer: a bijection of 64-bit words that scrambles every input bit into every output bit.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// How one tensor is filled: uniform in [-bound, bound], or `constant` when bound is 0.
struct fill_rule {
  double bound = 0;
  float constant = 0;
};

fill_rule rule_for(const tensor_spec& spec, const std::vector<tensor_spec>& all) {
  const auto fan_in_bound = [](const std::vector<int64_t>& shape) {
    int64_t fan_in = 1;
    for (size_t d = 1; d < shape.size(); ++d)
      fan_in *= shape[d];
    return 1.0 / std::sqrt(static_cast<double>(fan_in));
  };
  if (spec.shape.size() >= 2)
    return {fan_in_bound(spec.shape), 0};
  const std::string_view name = spec.name;
  if (name.ends_with("bias")) {
    // A layer's bias shares its matrix's bound; a norm's shift (its weight is a vector) starts at 0.
    const std::string weight = std::string(name.substr(0, name.size() - 4)) + "weight";
    const auto sibling =
        std::find_if(all.begin(), all.end(), [&](const tensor_spec& s) { return s.name == weight; });
    if (sibling != all.end() && sibling->shape.size() >= 2)
      return {fan_in_bound(sibling->shape), 0};
    return {0, 0};
  }
  if (name.ends_with("weight"))
    return {0, 1};  // a norm's scale
  // Any other vector: as a bias of a layer as wide as the vector.
  const int64_t n = spec.shape.empty() ? 1 : spec.shape[0];
  return {1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(n, 1))), 0};
}

const char* safetensors_name(kernels::dtype t) {
  switch (t) {
    case kernels::dtype::f32:
      return "F32";
    case kernels::dtype::f16:
      return "F16";
    case kernels::dtype::bf16:
      return "BF16";
    default:
      return nullptr;
  }
}

void store(kernels::dtype t, float value, char* dst) {
  if (t == kernels::dtype::f32) {
    std::memcpy(dst, &value, sizeof value);
    return;
  }
  const uint16_t bits = t == kernels::dtype::f16 ? kernels::f32_to_f16(value) : kernels::f32_to_bf16(value);
  std::memcpy(dst, &bits, sizeof bits);
}

}  // namespace

result<model_weights> random_weights(std::span<const tensor_spec> specs, const model_config& config,
                                     const random_weights_options& options) {
  const char* dtype_name = safetensors_name(options.stored);
  if (dtype_name == nullptr)
    return status{errc::invalid_argument, "random weights: stored dtype must be f32, f16 or bf16"};
  const std::vector<tensor_spec> all(specs.begin(), specs.end());
  const size_t element = kernels::dtype_size(options.stored);

  // The header, each tensor's bytes right after the previous one's.
  nlohmann::json header = nlohmann::json::object();
  std::set<std::string_view> names;
  std::vector<uint64_t> offsets;
  uint64_t data_bytes = 0;
  for (const tensor_spec& spec : all) {
    if (spec.name.empty() || !names.insert(spec.name).second)
      return status{errc::invalid_argument,
                    "random weights: empty or duplicate tensor name '" + spec.name + "'"};
    uint64_t count = 1;
    for (int64_t d : spec.shape) {
      if (d <= 0)
        return status{errc::invalid_argument,
                      "random weights: " + spec.name + " has shape " + shape_to_string(spec.shape)};
      count *= static_cast<uint64_t>(d);
    }
    offsets.push_back(data_bytes);
    header[spec.name] = {{"dtype", dtype_name},
                         {"shape", spec.shape},
                         {"data_offsets", {data_bytes, data_bytes + count * element}}};
    data_bytes += count * element;
  }
  header["__metadata__"] = {{"format", "pt"},
                            {"crowdiff", "random weights, seed " + std::to_string(options.seed)}};
  std::string header_text = header.dump();
  header_text.append((8 - (header_text.size() % 8)) % 8, ' ');  // the data section starts 8-aligned

  std::string image(8 + header_text.size() + data_bytes, '\0');
  const uint64_t header_size = header_text.size();
  for (int i = 0; i < 8; ++i)
    image[static_cast<size_t>(i)] = static_cast<char>((header_size >> (8 * i)) & 0xff);
  std::memcpy(image.data() + 8, header_text.data(), header_text.size());
  char* data = image.data() + 8 + header_text.size();

  // Work in chunks of up to 1M elements, handed out to the threads in order.
  struct chunk {
    size_t tensor;
    uint64_t begin, end;
  };
  constexpr uint64_t chunk_elements = uint64_t{1} << 20;
  std::vector<chunk> chunks;
  std::vector<fill_rule> rules;
  for (size_t k = 0; k < all.size(); ++k) {
    rules.push_back(rule_for(all[k], all));
    uint64_t count = 1;
    for (int64_t d : all[k].shape)
      count *= static_cast<uint64_t>(d);
    for (uint64_t begin = 0; begin < count; begin += chunk_elements)
      chunks.push_back({k, begin, std::min(count, begin + chunk_elements)});
  }
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t c = next++; c < chunks.size(); c = next++) {
      const chunk& job = chunks[c];
      const fill_rule& rule = rules[job.tensor];
      const uint64_t key = mix(options.seed ^ mix(job.tensor + 1));
      char* dst = data + offsets[job.tensor];
      for (uint64_t i = job.begin; i < job.end; ++i) {
        float value = rule.constant;
        if (rule.bound > 0) {
          // The top 24 bits: a uniform float in (0, 1) with nothing lost to rounding, then (-bound, bound).
          const double u = (static_cast<double>(mix(key + i) >> 40) + 0.5) * 0x1p-24;
          value = static_cast<float>((2 * u - 1) * rule.bound);
        }
        store(options.stored, value, dst + i * element);
      }
    }
  };
  const size_t wanted =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  const size_t threads = std::min(wanted, std::max<size_t>(chunks.size(), 1));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t)
    pool.emplace_back(work);
  work();
  for (std::thread& t : pool)
    t.join();

  auto file =
      safetensors_file::parse(std::move(image), "random weights (seed " + std::to_string(options.seed) + ")");
  if (!file)
    return file.error();
  return model_weights::from_memory(std::move(*file), config);
}

}  // namespace crowdiff::models
