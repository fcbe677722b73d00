#include "models/pipeline/stable_diffusion.hpp"

#include "kernels/status_macros.hpp"
#include "models/nn/weight_loader.hpp"

namespace crowdiff::models {

result<std::unique_ptr<stable_diffusion>> stable_diffusion::load(const std::filesystem::path& path,
                                                                 kernels::backend& be,
                                                                 const model_load_options& options) {
  CROWDIFF_ASSIGN_OR_RETURN(model_weights weights, model_weights::open(path, options.weights));
  // Inpainting and depth UNets take the latent with extra channels (mask, masked image, depth) that a
  // text-to-image pipeline has no source for.
  const auto& unet_config = weights.config().unet;
  if (unet_config.in_channels != weights.config().vae.latent_channels ||
      unet_config.out_channels != weights.config().vae.latent_channels)
    return status{errc::unsupported, path.string() + ": a UNet with " +
                                         std::to_string(unet_config.in_channels) +
                                         " input channels (inpainting or depth models are not supported)"};
  // Diffusers folders may carry their own vocabulary; single files use CLIP's standard one (SD 1.x and 2.x
  // share it).
  auto tokenizer = weights.tokenizer_dir()
                       ? clip_tokenizer::from_files(*weights.tokenizer_dir() / "vocab.json",
                                                    *weights.tokenizer_dir() / "merges.txt")
                       : clip_tokenizer::standard();
  if (!tokenizer)
    return tokenizer.error();
  std::unique_ptr<stable_diffusion> model(
      new stable_diffusion(std::move(weights), be, std::move(*tokenizer)));
  const model_config& config = model->config();
  model->schedule_ = discrete_schedule(config.schedule);
  weight_loader loader(model->weights_, be);
  const auto in = [&](const status& st) { return status(st).with_context(path.string()); };
  auto text = clip_text_encoder::load(loader, config.text, options.text_layers);
  if (!text)
    return in(text.error());
  model->text_encoder_ = std::move(*text);
  auto unet = unet_model::load(loader, config.unet);
  if (!unet)
    return in(unet.error());
  model->unet_ = std::move(*unet);
  auto decoder = vae_decoder::load(loader, config.vae);
  if (!decoder)
    return in(decoder.error());
  model->decoder_ = std::move(*decoder);
  if (options.vae_encoder) {
    auto encoder = vae_encoder::load(loader, config.vae);
    if (!encoder)
      return in(encoder.error());
    model->encoder_ = std::move(*encoder);
  }
  model->weight_bytes_ = loader.bytes();
  model->weights_.release_pages();
  return model;
}

size_t estimated_weight_bytes(const model_weights& weights, kernels::dtype compute) {
  size_t bytes = 0;
  for (const auto& name : weights.names()) {
    auto view = weights.get(name);
    if (!view)
      continue;
    // Token embeddings are read row by row where they lie; biases and norm scales become f32; matrices
    // and filters take the compute dtype.
    if (name.ends_with("token_embedding.weight"))
      bytes += view->bytes;
    else if (view->shape.size() <= 1)
      bytes += static_cast<size_t>(view->numel()) * sizeof(float);
    else
      bytes += static_cast<size_t>(view->numel()) * kernels::dtype_size(compute);
  }
  return bytes;
}

}  // namespace crowdiff::models
