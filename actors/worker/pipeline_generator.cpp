#include "actors/worker/pipeline_generator.hpp"

#include <algorithm>
#include <chrono>
#include <sched.h>
#include <unistd.h>

#include "actors/scheduler/features.hpp"
#include "actors/worker/worker_devices.hpp"
#include "models/image/webp_codec.hpp"
#include "models/sampling/sampler_table.hpp"

namespace crowdiff {

namespace {

// Activation memory per output pixel beyond the weights: the VAE decode at full resolution dominates
// (measured ~1.3 GB above the weights at 512 x 512 with bench_cpu_pipeline, ~5 KB per pixel); 6 KB leaves
// headroom for the C heap and oneDNN's scratch.
constexpr uint64_t cpu_activation_bytes_per_pixel = 6 * 1024;
// On a GPU every activation is f16, half the CPU's f32 (~2.5 KB per pixel for the same decode); 4 KB leaves
// headroom for cuDNN's workspaces and the stream-ordered pool's rounding. An estimate from the CPU's
// measurement, not yet measured on a GPU.
constexpr uint64_t gpu_activation_bytes_per_pixel = 4 * 1024;
// What the budget leaves of a GPU's free memory: cuBLASLt's and cuDNN's workspaces, fragmentation.
constexpr size_t gpu_budget_tenths = 9;
constexpr uint64_t largest_side = 2048;
constexpr uint64_t smallest_side = 64;
// The reference job the self-benchmark's speed is quoted for: steps at the benchmark's size.
constexpr int reference_steps = 20;

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 1;
}

size_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : size_t{8} << 30;
}

// The largest image the budget takes beside the largest model. Activations get at most half of the budget,
// so that the rest can keep other models loaded between jobs.
uint64_t pixels_room(size_t budget, size_t largest_model, uint64_t bytes_per_pixel) {
  const uint64_t room = std::min<uint64_t>(budget > largest_model ? budget - largest_model : 0, budget / 2);
  return std::clamp<uint64_t>(room / bytes_per_pixel, smallest_side * smallest_side,
                              largest_side * largest_side);
}

}  // namespace

std::string horde_sampler_name(v1::Sampler sampler) {
  return std::string(models::sampler_of_wire(sampler).horde_name);
}

result<std::unique_ptr<pipeline_generator>> pipeline_generator::create(pipeline_generator_options options) {
  if (options.models.empty())
    return status{errc::invalid_argument, "a pipeline generator needs at least one model"};
  if (options.cuda_device < -1)
    return status{errc::invalid_argument, "cuda_device " + std::to_string(options.cuda_device) +
                                              ": a device ordinal, or -1 for the CPU"};
  std::unique_ptr<pipeline_generator> gen(new pipeline_generator(std::move(options)));
  pipeline_generator_options& opt = gen->options_;
  size_t default_budget = 0;
  if (opt.cuda_device >= 0) {
    auto gpu = make_gpu_backend(opt.cuda_device);
    if (!gpu)
      return gpu.error();
    gen->backend_ = std::move(gpu->backend);
    gen->gpu_ = std::move(gpu->description);
    gen->activation_bytes_per_pixel_ = gpu_activation_bytes_per_pixel;
    default_budget = gpu->free_memory / 10 * gpu_budget_tenths;
  } else {
    gen->threads_ = opt.threads > 0 ? opt.threads : usable_cpus();
    auto be = kernels::make_cpu_backend({opt.precision, opt.threads});
    if (!be)
      return be.error();
    gen->backend_ = std::move(*be);
    gen->activation_bytes_per_pixel_ = cpu_activation_bytes_per_pixel;
    default_budget = physical_memory() / 4 * 3;
  }
  const size_t budget = opt.memory_budget_bytes > 0 ? opt.memory_budget_bytes : default_budget;
  opt.memory_budget_bytes = budget;
  gen->cache_ = std::make_unique<models::model_cache>(*gen->backend_, budget, opt.hash_cache);
  for (const model_source& source : opt.models) {
    const status st = gen->cache_->add(source.name, source.path, source.options);
    if (!st)
      return status(st).with_context("model " + source.name);
  }
  // The weights may take what the largest image's activations leave of the budget.
  size_t largest = 0;
  for (const auto& info : gen->cache_->list())
    largest = std::max(largest, info.bytes);
  const uint64_t per_pixel = gen->activation_bytes_per_pixel_;
  // pixels_room never goes below the smallest image, which may not fit a tiny budget at all.
  const uint64_t activations = pixels_room(budget, largest, per_pixel) * per_pixel;
  if (activations > budget || budget - activations < largest)
    return status{errc::resource_exhausted,
                  "the memory budget of " + std::to_string(budget >> 20) +
                      " MiB leaves no room for a model of " + std::to_string(largest >> 20) + " MiB and a " +
                      std::to_string(smallest_side) + "x" + std::to_string(smallest_side) + " image"};
  gen->cache_->set_budget_bytes(budget - activations);
  return gen;
}

pipeline_generator::~pipeline_generator() {
  // Models hold tensors of the backend: they go first.
  cache_.reset();
  backend_.reset();
}

std::vector<v1::ModelOffer> pipeline_generator::models() {
  std::vector<v1::ModelOffer> out;
  const auto listed = cache_->list();
  for (size_t i = 0; i < listed.size(); ++i) {
    v1::ModelOffer offer;
    offer.set_name(listed[i].name);
    offer.set_sha256(listed[i].sha256);
    offer.set_loaded(listed[i].loaded);
    offer.set_load_ms(listed[i].load_ms);
    if (i == 0)
      offer.set_mps_per_s(benchmark_mps_);
    out.push_back(std::move(offer));
  }
  return out;
}

std::string pipeline_generator::device() {
  if (!gpu_.empty())
    return gpu_;
  const kernels::cpu_features f = kernels::detect_cpu_features();
  std::string isa = f.avx512 ? "avx512" : "avx2";
  if (backend_->compute_dtype() == kernels::dtype::bf16)
    isa += f.amx_bf16 ? " bf16 amx" : " bf16";
  return "cpu: " + std::to_string(threads_) + " threads, " + isa;
}

uint64_t pipeline_generator::max_pixels() {
  size_t largest = 0;
  for (const auto& info : cache_->list())
    largest = std::max(largest, info.bytes);
  return pixels_room(options_.memory_budget_bytes, largest, activation_bytes_per_pixel_);
}

uint32_t pipeline_generator::features() {
  return scheduling::feature_img2img | scheduling::feature_karras | scheduling::feature_clip_skip;
}

std::string pipeline_generator::model_name_for(const v1::TaskSpec& task) const {
  return task.model().empty() ? options_.models.front().name : task.model();
}

result<models::generation_request> pipeline_generator::request_for(const v1::TaskSpec& task) const {
  const v1::JobRequest& r = task.request();
  models::generation_request request;
  request.prompt = r.prompt();
  request.negative_prompt = r.negative_prompt();
  request.sampler = horde_sampler_name(r.sampler());
  request.karras = r.karras();
  request.steps = static_cast<int>(r.steps());
  request.cfg_scale = r.cfg_scale();
  request.width = static_cast<int>(r.width());
  request.height = static_cast<int>(r.height());
  request.seed = task.seed();
  request.clip_skip = std::max<int>(1, static_cast<int>(r.clip_skip()));
  request.format = options_.format;
  request.conventions = options_.conventions;
  if (!r.source_image().empty()) {
    auto source = models::decode_image(r.source_image());
    if (!source)
      return status{errc::invalid_argument, "the source image: " + source.error().message()};
    request.source = std::move(*source);
    request.denoising_strength = r.denoising_strength();
  }
  return request;
}

result<generated_image> pipeline_generator::generate(const v1::TaskSpec& task, const step_fn& on_step,
                                                     const std::atomic<bool>& cancelled) {
  auto request = request_for(task);
  if (!request)
    return request.error();
  const std::string name = model_name_for(task);
  auto info = cache_->info(name);
  if (!info)
    return status{errc::unsupported, "this worker does not offer model " + name};
  const uint64_t pixels = static_cast<uint64_t>(request->width) * static_cast<uint64_t>(request->height);
  if (pixels > max_pixels())
    return status{errc::unsupported, std::to_string(request->width) + "x" + std::to_string(request->height) +
                                         " is more than this worker's memory allows (" +
                                         std::to_string(max_pixels()) + " pixels)"};
  std::lock_guard lock(run_mutex_);
  auto model = cache_->acquire(name);
  if (!model)
    return status{errc::generation_failed, "loading " + name + ": " + model.error().to_string()};
  models::generation_hooks hooks;
  hooks.on_step = [&](int done, int total) {
    if (on_step)
      on_step(static_cast<uint32_t>(done), static_cast<uint32_t>(total));
  };
  hooks.cancelled = &cancelled;
  auto out = models::generate_image(**model, {name, info->sha256}, *request, hooks);
  if (!out) {
    const errc code = out.error().code();
    if (code == errc::cancelled || code == errc::invalid_argument || code == errc::unsupported ||
        code == errc::failed_precondition)
      return out.error();
    return status{errc::generation_failed, out.error().to_string()};
  }
  generated_image image;
  image.bytes.assign(out->encoded.begin(), out->encoded.end());
  image.format = std::string(models::to_string(out->format));
  image.model_sha256 = info->sha256;
  image.width = static_cast<uint32_t>(out->image.width);
  image.height = static_cast<uint32_t>(out->image.height);
  return image;
}

result<double> pipeline_generator::benchmark() {
  const std::string& name = options_.models.front().name;
  std::lock_guard lock(run_mutex_);
  auto model = cache_->acquire(name);
  if (!model)
    return status(model.error()).with_context("loading " + name);
  // Eight times the model's size multiple is SD's native 512; a tiny test model gets a matching tiny image.
  const int64_t multiple = (*model)->size_multiple();
  int64_t side = std::clamp<int64_t>(options_.benchmark_side / multiple * multiple, multiple, 8 * multiple);
  while (side > multiple && static_cast<uint64_t>(side * side) > max_pixels())
    side -= multiple;
  models::generation_request request;
  request.prompt = "a lighthouse on a cliff at dawn, oil painting";
  request.negative_prompt = "blurry";
  request.sampler = std::string(models::sampler_of(models::sampler_kind::euler).horde_name);
  request.steps = std::max(2, options_.benchmark_steps);
  request.cfg_scale = 7.0;
  request.width = static_cast<int>(side);
  request.height = static_cast<int>(side);
  request.conventions = options_.conventions;
  std::vector<double> stamps;
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  models::generation_hooks hooks;
  hooks.on_step = [&](int, int) { stamps.push_back(seconds()); };
  auto out = models::generate_image(**model, {name, ""}, request, hooks);
  if (!out)
    return status(out.error()).with_context("benchmark");
  const double total = seconds();
  // The later steps are the steady state; the rest (text encoder, the first step's one-off set-up, VAE
  // decode, encoding) is paid once per image.
  const double per_step = (stamps.back() - stamps.front()) / static_cast<double>(stamps.size() - 1);
  const double fixed = std::max(0.0, total - per_step * static_cast<double>(stamps.size()));
  const double job_seconds = fixed + per_step * reference_steps;
  const double megapixel_steps = static_cast<double>(side * side) * reference_steps / 1e6;
  benchmark_mps_ = megapixel_steps / std::max(job_seconds, 1e-6);
  return benchmark_mps_;
}

}  // namespace crowdiff
