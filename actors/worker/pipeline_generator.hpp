#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/worker/generator.hpp"
#include "kernels/backend.hpp"
#include "kernels/cpu/cpu_backend.hpp"
#include "models/pipeline/image_generation.hpp"
#include "models/pipeline/model_cache.hpp"

namespace crowdiff {

/// A model a worker offers: the name requests use and where its weights are.
struct model_source {
  std::string name;
  std::filesystem::path path;
  models::model_load_options options;
};

struct pipeline_generator_options {
  /// The models offered; the first is the default for tasks that name none. At least one.
  std::vector<model_source> models;
  /// The GPU to run on, a CUDA device ordinal (f16 activations), or -1: the CPU backend. A GPU needs a build
  /// with the CUDA backend (CROWDIFF_HAVE_CUDA; see worker_devices.hpp for one generator per GPU).
  int cuda_device = -1;
  int threads = 0;  ///< CPU backend: 0 for every core the process may use.
  kernels::cpu_precision precision = kernels::cpu_precision::automatic;  ///< CPU backend only.
  /// Bytes of model weights held at once (the LRU cache's budget) plus room for activations; 0: three
  /// quarters of physical memory on the CPU, nine tenths of the GPU's free memory on a GPU.
  size_t memory_budget_bytes = 0;
  std::filesystem::path hash_cache;  ///< Remembers model digests across runs; empty: none.
  models::image_format format = models::image_format::webp;
  models::sampling_conventions conventions = models::sampling_conventions::comfyui();
  /// The self-benchmark's image side, rounded to the model's size multiple and at most 8 of them (512 for
  /// SD).
  int benchmark_side = 512;
  int benchmark_steps = 2;
};

/// The worker's generator backed by the diffusion pipeline, on the CPU (the oneDNN backend, bf16 where the
/// CPU multiplies it natively) or on one GPU (the CUDA backend, f16): models stay loaded between jobs in an
/// LRU cache within the memory budget, each identified by the SHA-256 of its weights; images come back as
/// WebP (or PNG) with the generation parameters embedded and the model's digest.
///
/// `generate` and `benchmark` run one at a time (a mutex), on whichever thread calls them.
class pipeline_generator final : public generator {
 public:
  /// Makes the backend (the CPU's, or the CUDA backend on `cuda_device`) and registers every model (opening
  /// it: the weights are validated and the configuration detected, without loading them yet) and its
  /// digest. Errors: invalid_argument for no models, a duplicate name or a device ordinal under -1;
  /// unavailable for a GPU that is not there (or a build without the CUDA backend), unsupported for one older
  /// than sm_80; not_found / unsupported / corruption / io_error naming the model that cannot be opened;
  /// resource_exhausted for a model larger than the budget; the backend's.
  static result<std::unique_ptr<pipeline_generator>> create(pipeline_generator_options options);
  ~pipeline_generator() override;

  std::vector<v1::ModelOffer> models() override;
  /// "cpu: 2 threads, avx512 bf16" (the instruction sets the backend uses; "amx" when present), or the GPU:
  /// "cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)".
  std::string device() override;
  /// The largest image whose activations fit beside the largest model in the memory budget, with at most
  /// half of the budget for activations (the rest keeps models loaded); from 64 x 64 to 2048 x 2048 pixels.
  /// Activations are estimated per pixel for the backend's precision (f32 on the CPU, f16 on a GPU).
  uint64_t max_pixels() override;
  /// "img2img", "karras", "clip_skip".
  uint32_t features() override;
  /// Generates a short image with the default model (loading it) and returns the speed of a 20-step job of
  /// that size, in megapixel-steps per second counting the guidance batch of two as one image's work, as
  /// pricing does. Errors: those of loading and generating.
  result<double> benchmark() override;
  result<generated_image> generate(const v1::TaskSpec& task, const step_fn& on_step,
                                   const std::atomic<bool>& cancelled) override;

  /// The request the pipeline runs for a task (exposed for tests). Errors: invalid_argument for an
  /// undecodable source image.
  result<models::generation_request> request_for(const v1::TaskSpec& task) const;

 private:
  explicit pipeline_generator(pipeline_generator_options options) : options_(std::move(options)) {}
  std::string model_name_for(const v1::TaskSpec& task) const;

  pipeline_generator_options options_;
  std::unique_ptr<kernels::backend> backend_;
  std::unique_ptr<models::model_cache> cache_;
  std::mutex run_mutex_;
  int threads_ = 1;
  std::string gpu_;  ///< the GPU's description; empty on the CPU
  uint64_t activation_bytes_per_pixel_ = 0;
  double benchmark_mps_ = 0;
};

/// The AI Horde name of a sampler ("k_euler_a" for SAMPLER_UNSPECIFIED).
std::string horde_sampler_name(v1::Sampler sampler);

}  // namespace crowdiff
