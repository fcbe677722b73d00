#include "models/pipeline/latent_images.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

result<rgb_image> decode_latent(const stable_diffusion& model, std::span<const float> latent, int64_t height,
                                int64_t width) {
  const int64_t channels = model.config().vae.latent_channels;
  if (latent.size() != static_cast<size_t>(channels * height * width))
    return status{errc::invalid_argument, "decode_latent: " + std::to_string(latent.size()) +
                                              " values for a latent of " + std::to_string(channels) + "x" +
                                              std::to_string(height) + "x" + std::to_string(width)};
  kernels::backend& be = model.backend();
  const kernels::tensor host =
      kernels::tensor::borrow(latent.data(), {1, channels, height, width}, kernels::dtype::f32);
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor z, be.upload(host));  // [1, C, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(z,
                            be.scale(z, 1.0f / model.config().vae.scaling_factor, 0.0f, z));  // [1, C, h, w]
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor decoded, model.decoder()(be, z));                 // [1, 3, H, W]
  const int64_t out_h = decoded.size(2), out_w = decoded.size(3), plane = out_h * out_w;
  std::vector<float> pixels(static_cast<size_t>(decoded.numel()));
  CROWDIFF_RETURN_IF_ERROR(be.download(
      decoded, kernels::tensor::borrow_mutable(pixels.data(), decoded.shape(), kernels::dtype::f32)));
  rgb_image image;
  image.width = static_cast<int>(out_w);
  image.height = static_cast<int>(out_h);
  image.pixels.resize(static_cast<size_t>(plane) * 3);
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t i = 0; i < plane; ++i) {
      const float v = std::clamp(pixels[static_cast<size_t>(c * plane + i)] * 0.5f + 0.5f, 0.0f, 1.0f);
      image.pixels[static_cast<size_t>(i * 3 + c)] = static_cast<uint8_t>(std::lround(v * 255.0f));
    }
  }
  return image;
}

result<std::vector<float>> encode_image(const stable_diffusion& model, const rgb_image& image) {
  if (!model.encoder())
    return status{errc::failed_precondition, "this model was loaded without its VAE encoder (img2img)"};
  if (!image.valid())
    return status{errc::invalid_argument, "encode_image: not a valid image"};
  const vae_encoder& encoder = *model.encoder();
  const int64_t height = image.height, width = image.width, plane = height * width;
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor host,
                            kernels::tensor::host({1, 3, height, width}, kernels::dtype::f32));
  float* dst = host.mutable_data_as<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < plane; ++i)
      dst[c * plane + i] = static_cast<float>(image.pixels[static_cast<size_t>(i * 3 + c)]) / 127.5f - 1.0f;
  kernels::backend& be = model.backend();
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor x, be.upload(host));       // [1, 3, H, W]
  CROWDIFF_ASSIGN_OR_RETURN(vae_posterior posterior, encoder(be, x));  // [1, C, h, w] each, on the host
  std::vector<float> latent(posterior.mean.data_as<float>(),
                            posterior.mean.data_as<float>() + posterior.mean.numel());
  for (float& v : latent)
    v *= model.config().vae.scaling_factor;
  return latent;
}

}  // namespace crowdiff::models
