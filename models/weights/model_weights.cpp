#include "models/weights/model_weights.hpp"

#include <fstream>
#include <sstream>

#include "models/weights/key_mapping.hpp"

namespace crowdiff::models {
namespace {

namespace fs = std::filesystem;

result<std::string> read_small_text(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return std::string();
  if (fs::file_size(path, ec) > (1u << 20))
    return status{errc::resource_exhausted, path.string() + ": config file larger than 1 MiB"};
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return status{errc::io_error, path.string() + ": cannot read"};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether an original (LDM) model YAML sets `parameterization: "v"` (SD 2.x 768-v), the line A1111 looks for.
bool says_v_prediction(std::string_view yaml) {
  size_t at = 0;
  while ((at = yaml.find("parameterization:", at)) != std::string_view::npos) {
    at += 17;
    const size_t end = yaml.find('\n', at);
    std::string_view value =
        yaml.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    const size_t first = value.find_first_not_of(" \t\"'");
    if (first != std::string_view::npos && value[first] == 'v' &&
        (first + 1 == value.size() ||
         std::string_view(" \t\"'\r#").find(value[first + 1]) != std::string_view::npos))
      return true;
  }
  return false;
}

// Applies the view transform a key_target asks for; errors name the source tensor.
result<tensor_view> transform(const tensor_view& source, const key_target& target) {
  tensor_view view = source;
  view.name = target.name;
  if (target.third >= 0) {
    if (view.shape.empty() || view.shape[0] % 3 != 0)
      return status{errc::corruption, "tensor " + source.name + " of shape " + shape_to_string(source.shape) +
                                          " cannot be split into q, k and v"};
    view.shape[0] /= 3;
    view.bytes /= 3;
    view.data = static_cast<const char*>(source.data) + view.bytes * static_cast<size_t>(target.third);
  }
  if (target.squeeze_1x1 && view.shape.size() == 4) {
    if (view.shape[2] != 1 || view.shape[3] != 1)
      return status{errc::corruption, "tensor " + source.name + " of shape " + shape_to_string(source.shape) +
                                          " is not a 1x1 convolution"};
    view.shape.resize(2);
  }
  return view;
}

}  // namespace

result<model_weights> model_weights::open(const fs::path& path, const load_options& options) {
  model_weights weights;
  weights.root_ = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    weights.format_ = checkpoint_format::diffusers_folder;
    CROWDIFF_RETURN_IF_ERROR(
        weights.add_diffusers_component(path / "unet", unet_prefix, "diffusion_pytorch_model", options));
    CROWDIFF_RETURN_IF_ERROR(
        weights.add_diffusers_component(path / "vae", vae_prefix, "diffusion_pytorch_model", options));
    CROWDIFF_RETURN_IF_ERROR(
        weights.add_diffusers_component(path / "text_encoder", text_encoder_prefix, "model", options));
    if (fs::is_regular_file(path / "tokenizer" / "vocab.json", ec) &&
        fs::is_regular_file(path / "tokenizer" / "merges.txt", ec))
      weights.tokenizer_dir_ = path / "tokenizer";
    CROWDIFF_RETURN_IF_ERROR(weights.finish(false, path, options));
    return weights;
  }
  weights.format_ = checkpoint_format::single_file;
  bool open_clip = false;
  CROWDIFF_RETURN_IF_ERROR(weights.add_single_file(path, options, &open_clip));
  CROWDIFF_RETURN_IF_ERROR(weights.finish(open_clip, options.config_dir, options));
  if (!options.prediction && options.config_dir.empty()) {
    auto yaml = read_small_text(fs::path(path).replace_extension(".yaml"));
    if (!yaml)
      return yaml.error();
    if (says_v_prediction(*yaml))
      weights.config_.schedule.prediction = prediction_type::v_prediction;
  }
  return weights;
}

model_weights model_weights::from_memory(safetensors_file file, const model_config& config) {
  model_weights weights;
  weights.root_ = file.source();
  weights.config_ = config;
  for (const auto& tensor : file.tensors())
    weights.tensors_.insert_or_assign(tensor.name, tensor);
  weights.files_.push_back(std::move(file));
  return weights;
}

status model_weights::add_diffusers_component(const fs::path& folder, std::string_view prefix,
                                              std::string_view file_stem, const load_options& options) {
  std::error_code ec;
  fs::path file;
  for (const char* variant : {"", ".fp16"}) {
    const fs::path candidate = folder / (std::string(file_stem) + variant + ".safetensors");
    if (fs::is_regular_file(candidate, ec)) {
      file = candidate;
      break;
    }
  }
  if (file.empty()) {
    if (fs::is_regular_file(folder / (std::string(file_stem) + ".bin"), ec))
      return status{errc::unsupported,
                    (folder / (std::string(file_stem) + ".bin")).string() +
                        ": pickle weights are refused; this folder needs .safetensors files"};
    return status{errc::not_found, folder.string() + ": no " + std::string(file_stem) + ".safetensors"};
  }
  auto opened = safetensors_file::open(file, options.limits);
  if (!opened)
    return opened.error();
  for (const auto& tensor : opened->tensors()) {
    auto view = transform(tensor, map_diffusers_key(tensor.name, prefix));
    if (!view)
      return status(view.error()).with_context(file.string());
    const std::string name = view->name;
    tensors_.insert_or_assign(name, std::move(*view));
  }
  files_.push_back(std::move(*opened));
  return status::ok();
}

status model_weights::add_single_file(const fs::path& path, const load_options& options, bool* open_clip) {
  auto opened = safetensors_file::open(path, options.limits);
  if (!opened)
    return opened.error();
  std::vector<std::string> keys;
  keys.reserve(opened->tensors().size());
  for (const auto& tensor : opened->tensors()) {
    keys.push_back(tensor.name);
    if (tensor.name.starts_with("conditioner.embedders."))
      return status{errc::unsupported, path.string() +
                                           ": an SDXL-style checkpoint (conditioner.embedders.*); "
                                           "crowdiff runs SD 1.x and 2.x"};
    if (tensor.name.starts_with("cond_stage_model.model."))
      *open_clip = true;
  }
  const single_file_structure structure = detect_single_file_structure(keys);
  for (const auto& tensor : opened->tensors()) {
    for (const key_target& target : map_single_file_key(tensor.name, structure)) {
      auto view = transform(tensor, target);
      if (!view)
        return status(view.error()).with_context(path.string());
      if (tensors_.contains(target.name))
        return status{errc::corruption, path.string() + ": two tensors map to " + target.name};
      tensors_.emplace(target.name, std::move(*view));
    }
  }
  files_.push_back(std::move(*opened));
  return status::ok();
}

status model_weights::finish(bool open_clip, const fs::path& config_dir, const load_options& options) {
  const shape_lookup shapes = [this](std::string_view name) -> std::optional<std::vector<int64_t>> {
    const auto it = tensors_.find(name);
    if (it == tensors_.end())
      return std::nullopt;
    return it->second.shape;
  };
  auto detected = detect_model_config(shapes, open_clip);
  if (!detected)
    return status(detected.error()).with_context(root_.string());
  config_ = std::move(*detected);
  if (!config_dir.empty()) {
    static constexpr std::pair<const char*, const char*> files[] = {
        {"unet", "unet/config.json"},
        {"vae", "vae/config.json"},
        {"text_encoder", "text_encoder/config.json"},
        {"tokenizer", "tokenizer/tokenizer_config.json"},
        {"scheduler", "scheduler/scheduler_config.json"},
    };
    for (const auto& [component, relative] : files) {
      const fs::path file = config_dir / relative;
      auto text = read_small_text(file);
      if (!text)
        return text.error();
      CROWDIFF_RETURN_IF_ERROR(apply_diffusers_config(config_, component, *text, file.string()));
    }
  }
  if (options.prediction)
    config_.schedule.prediction = *options.prediction;
  return status::ok();
}

std::vector<fs::path> model_weights::files() const {
  std::vector<fs::path> out;
  for (const auto& file : files_)
    out.emplace_back(file.source());
  return out;
}

result<tensor_view> model_weights::get(std::string_view name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end())
    return status{errc::not_found, root_.string() + ": no tensor " + std::string(name)};
  return it->second;
}

result<tensor_view> model_weights::get(std::string_view name, const std::vector<int64_t>& expected) const {
  auto view = get(name);
  if (view && view->shape != expected)
    return status{errc::corruption, root_.string() + ": tensor " + std::string(name) + " has shape " +
                                        shape_to_string(view->shape) + ", expected " +
                                        shape_to_string(expected)};
  return view;
}

result<tensor_view> model_weights::get(std::string_view name, std::initializer_list<int64_t> expected) const {
  return get(name, std::vector<int64_t>(expected));
}

std::vector<std::string> model_weights::names(std::string_view prefix) const {
  std::vector<std::string> out;
  for (const auto& [name, view] : tensors_)
    if (name.starts_with(prefix))
      out.push_back(name);
  return out;
}

}  // namespace crowdiff::models
