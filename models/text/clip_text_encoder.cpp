#include "models/text/clip_text_encoder.hpp"

#include <cstring>
#include <string>

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

result<clip_text_encoder> clip_text_encoder::load(weight_loader& loader, const text_encoder_config& config,
                                                  int layers) {
  const int count = layers == 0 ? config.layers_used : layers;
  if (count < 1 || count > config.num_layers)
    return status{errc::invalid_argument, "text encoder: " + std::to_string(count) +
                                              " layers asked, the checkpoint has " +
                                              std::to_string(config.num_layers)};
  if (config.num_heads <= 0 || config.hidden_size % config.num_heads != 0)
    return status{errc::unsupported, "text encoder: " + std::to_string(config.hidden_size) + " channels in " +
                                         std::to_string(config.num_heads) + " heads"};
  const int64_t d = config.hidden_size;
  const float eps = config.layer_norm_eps;
  const std::string p = "text_encoder.text_model.";
  clip_text_encoder model;
  model.hidden_ = d;
  model.positions_ = config.max_positions;
  model.activation_ = config.quick_gelu ? kernels::activation::quick_gelu : kernels::activation::gelu;
  CROWDIFF_ASSIGN_OR_RETURN(model.token_embedding_,
                            loader.load(p + "embeddings.token_embedding.weight", {config.vocab_size, d},
                                        kernels::weight_use::embedding));
  CROWDIFF_ASSIGN_OR_RETURN(
      model.position_embedding_,
      loader.load_activation(p + "embeddings.position_embedding.weight", {config.max_positions, d}));
  for (int i = 0; i < count; ++i) {
    const std::string prefix = p + "encoder.layers." + std::to_string(i) + ".";
    layer l;
    CROWDIFF_ASSIGN_OR_RETURN(l.norm1, layer_norm_layer::load(loader, prefix + "layer_norm1.", d, eps));
    CROWDIFF_ASSIGN_OR_RETURN(l.attention,
                              attention_layer::load(loader, prefix + "self_attn.", d, d, config.num_heads,
                                                    d / config.num_heads, true, clip_projection_names));
    CROWDIFF_ASSIGN_OR_RETURN(l.norm2, layer_norm_layer::load(loader, prefix + "layer_norm2.", d, eps));
    CROWDIFF_ASSIGN_OR_RETURN(l.fc1,
                              linear_layer::load(loader, prefix + "mlp.fc1.", d, config.intermediate_size));
    CROWDIFF_ASSIGN_OR_RETURN(l.fc2,
                              linear_layer::load(loader, prefix + "mlp.fc2.", config.intermediate_size, d));
    model.layers_.push_back(std::move(l));
  }
  CROWDIFF_ASSIGN_OR_RETURN(model.final_norm_,
                            layer_norm_layer::load(loader, p + "final_layer_norm.", d, eps));
  return model;
}

result<kernels::tensor> clip_text_encoder::encode(kernels::backend& be, const kernels::tensor& ids,
                                                  int layers, bool final_norm) const {
  if (ids.rank() != 2 || ids.size(1) < 1 || ids.size(1) > positions_ ||
      (ids.dtype() != kernels::dtype::i32 && ids.dtype() != kernels::dtype::i64))
    return status{errc::invalid_argument, "text encoder: ids " + ids.to_string() + " are not [B, L <= " +
                                              std::to_string(positions_) + "] integers"};
  if (layers < 1 || layers > loaded_layers())
    return status{errc::invalid_argument, "text encoder: " + std::to_string(layers) + " layers asked, " +
                                              std::to_string(loaded_layers()) + " loaded"};
  const int64_t length = ids.size(1);
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor device_ids, be.upload(ids));                        // [B, L]
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor h, be.embedding(device_ids, token_embedding_));     // [B, L, D]
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor positions, position_embedding_.narrow(0, length));  // [L, D]
  CROWDIFF_ASSIGN_OR_RETURN(h, be.add(h, positions, h));                                        // [B, L, D]
  for (int i = 0; i < layers; ++i) {
    const layer& l = layers_[static_cast<size_t>(i)];
    CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor y, l.norm1(be, h));           // [B, L, D]
    CROWDIFF_ASSIGN_OR_RETURN(y, l.attention(be, y, {}, /*causal=*/true));  // [B, L, D]
    CROWDIFF_ASSIGN_OR_RETURN(h, be.add(y, h, y));                          // [B, L, D]
    CROWDIFF_ASSIGN_OR_RETURN(y, l.norm2(be, h));                           // [B, L, D]
    CROWDIFF_ASSIGN_OR_RETURN(y, l.fc1(be, y));                             // [B, L, I]
    CROWDIFF_ASSIGN_OR_RETURN(y, be.activate(y, activation_, y));           // [B, L, I]
    CROWDIFF_ASSIGN_OR_RETURN(y, l.fc2(be, y));                             // [B, L, D]
    CROWDIFF_ASSIGN_OR_RETURN(h, be.add(y, h, y));                          // [B, L, D]
  }
  if (final_norm)
    return final_norm_(be, h);  // [B, L, D]
  return h;
}

result<kernels::tensor> clip_text_encoder::pooled(kernels::backend& be, const kernels::tensor& hidden,
                                                  const kernels::tensor& ids, int32_t eos) const {
  if (hidden.rank() != 3 || ids.rank() != 2 || ids.dtype() != kernels::dtype::i32 ||
      ids.size(0) != hidden.size(0) || ids.size(1) != hidden.size(1))
    return status{errc::invalid_argument, "text encoder: pooled needs hidden [B, L, D] and ids [B, L] i32"};
  const int64_t batch = hidden.size(0), length = hidden.size(1), d = hidden.size(2);
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor states,
                            kernels::tensor::host(hidden.shape(), kernels::dtype::f32));  // [B, L, D]
  CROWDIFF_RETURN_IF_ERROR(be.download(hidden, states));
  CROWDIFF_ASSIGN_OR_RETURN(kernels::tensor out,
                            kernels::tensor::host({batch, d}, kernels::dtype::f32));  // [B, D]
  for (int64_t b = 0; b < batch; ++b) {
    int64_t at = length - 1;
    for (int64_t i = 0; i < length; ++i) {
      if (ids.data_as<int32_t>()[b * length + i] == eos) {
        at = i;
        break;
      }
    }
    std::memcpy(out.mutable_data_as<float>() + b * d, states.data_as<float>() + (b * length + at) * d,
                static_cast<size_t>(d) * sizeof(float));
  }
  return out;
}

}  // namespace crowdiff::models
