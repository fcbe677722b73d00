#include "models/weights/model_config.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace crowdiff::models {

status validate(const unet_config& config) {
  const size_t levels = config.block_out_channels.size();
  if (levels == 0 || config.down_block_attention.size() != levels || config.attention_heads.size() != levels)
    return status{errc::unsupported,
                  "unet: inconsistent configuration of " + std::to_string(levels) + " levels"};
  if (config.layers_per_block < 1 || config.transformer_layers < 1)
    return status{errc::unsupported, "unet: needs at least one resnet and one transformer layer per block"};
  return status::ok();
}

std::string_view to_string(model_family family) {
  switch (family) {
    case model_family::sd1:
      return "sd1";
    case model_family::sd2:
      return "sd2";
  }
  return "unknown";
}

std::string_view to_string(prediction_type prediction) {
  switch (prediction) {
    case prediction_type::epsilon:
      return "epsilon";
    case prediction_type::v_prediction:
      return "v_prediction";
  }
  return "unknown";
}

namespace {

using shape = std::vector<int64_t>;

status missing(std::string_view name) {
  return status{errc::corruption, "the checkpoint has no tensor " + std::string(name)};
}

// Counts the consecutive indices `prefix + i + suffix` present from 0.
int count_indexed(const shape_lookup& shapes, const std::string& prefix, const std::string& suffix) {
  int n = 0;
  while (shapes(prefix + std::to_string(n) + suffix))
    ++n;
  return n;
}

status detect_unet(const shape_lookup& shapes, unet_config& unet) {
  const auto conv_in = shapes("unet.conv_in.weight");
  const auto conv_out = shapes("unet.conv_out.weight");
  if (!conv_in || conv_in->size() != 4)
    return missing("unet.conv_in.weight");
  if (!conv_out || conv_out->size() != 4)
    return missing("unet.conv_out.weight");
  unet.in_channels = static_cast<int>((*conv_in)[1]);
  unet.out_channels = static_cast<int>((*conv_out)[0]);
  unet.block_out_channels.clear();
  unet.down_block_attention.clear();
  for (int level = 0;; ++level) {
    const std::string base = "unet.down_blocks." + std::to_string(level) + ".";
    const auto conv1 = shapes(base + "resnets.0.conv1.weight");
    if (!conv1)
      break;
    unet.block_out_channels.push_back(static_cast<int>((*conv1)[0]));
    unet.down_block_attention.push_back(shapes(base + "attentions.0.proj_in.weight").has_value());
  }
  if (unet.block_out_channels.empty())
    return missing("unet.down_blocks.0.resnets.0.conv1.weight");
  unet.layers_per_block = count_indexed(shapes, "unet.down_blocks.0.resnets.", ".conv1.weight");
  const auto attention_level =
      std::find(unet.down_block_attention.begin(), unet.down_block_attention.end(), true);
  if (attention_level == unet.down_block_attention.end())
    return status{errc::unsupported, "the UNet has no cross-attention"};
  const std::string attn = "unet.down_blocks." +
                           std::to_string(attention_level - unet.down_block_attention.begin()) +
                           ".attentions.0.";
  unet.transformer_layers = count_indexed(shapes, attn + "transformer_blocks.", ".attn2.to_k.weight");
  const auto to_k = shapes(attn + "transformer_blocks.0.attn2.to_k.weight");
  const auto proj_in = shapes(attn + "proj_in.weight");
  if (!to_k || to_k->size() != 2)
    return missing(attn + "transformer_blocks.0.attn2.to_k.weight");
  unet.cross_attention_dim = static_cast<int>((*to_k)[1]);
  unet.use_linear_projection = proj_in->size() == 2;
  return status::ok();
}

status detect_vae(const shape_lookup& shapes, vae_config& vae) {
  const auto conv_in = shapes("vae.encoder.conv_in.weight");
  const auto decoder_in = shapes("vae.decoder.conv_in.weight");
  if (!conv_in || conv_in->size() != 4)
    return missing("vae.encoder.conv_in.weight");
  if (!decoder_in || decoder_in->size() != 4)
    return missing("vae.decoder.conv_in.weight");
  vae.in_channels = static_cast<int>((*conv_in)[1]);
  vae.latent_channels = static_cast<int>((*decoder_in)[1]);
  vae.block_out_channels.clear();
  for (int level = 0;; ++level) {
    const auto conv1 = shapes("vae.encoder.down_blocks." + std::to_string(level) + ".resnets.0.conv1.weight");
    if (!conv1)
      break;
    vae.block_out_channels.push_back(static_cast<int>((*conv1)[0]));
  }
  if (vae.block_out_channels.empty())
    return missing("vae.encoder.down_blocks.0.resnets.0.conv1.weight");
  vae.layers_per_block = count_indexed(shapes, "vae.encoder.down_blocks.0.resnets.", ".conv1.weight");
  return status::ok();
}

status detect_text(const shape_lookup& shapes, text_encoder_config& text) {
  const std::string p = "text_encoder.text_model.";
  const auto tokens = shapes(p + "embeddings.token_embedding.weight");
  const auto positions = shapes(p + "embeddings.position_embedding.weight");
  const auto fc1 = shapes(p + "encoder.layers.0.mlp.fc1.weight");
  if (!tokens || tokens->size() != 2)
    return missing(p + "embeddings.token_embedding.weight");
  if (!positions || positions->size() != 2)
    return missing(p + "embeddings.position_embedding.weight");
  if (!fc1 || fc1->size() != 2)
    return missing(p + "encoder.layers.0.mlp.fc1.weight");
  text.vocab_size = static_cast<int>((*tokens)[0]);
  text.hidden_size = static_cast<int>((*tokens)[1]);
  text.max_positions = static_cast<int>((*positions)[0]);
  text.intermediate_size = static_cast<int>((*fc1)[0]);
  text.num_layers = count_indexed(shapes, p + "encoder.layers.", ".mlp.fc1.weight");
  text.num_heads = std::max(1, text.hidden_size / 64);
  return status::ok();
}

void apply_family_defaults(model_config& config, bool open_clip_source) {
  const bool sd2 = config.family == model_family::sd2;
  config.text.quick_gelu = !sd2;
  config.text.pad_token = sd2 ? 0 : 49407;
  // An SD2 single file keeps OpenCLIP's last layer, which SD2 never used (diffusers drops it on conversion).
  config.text.layers_used =
      open_clip_source ? std::max(1, config.text.num_layers - 1) : config.text.num_layers;
  config.unet.attention_heads.clear();
  for (int channels : config.unet.block_out_channels)
    config.unet.attention_heads.push_back(sd2 ? std::max(1, channels / 64) : 8);
}

template <class T>
void read_if(const nlohmann::json& j, const char* key, T& out) {
  const auto it = j.find(key);
  if (it != j.end() && !it->is_null()) {
    if constexpr (std::is_same_v<T, bool>) {
      if (it->is_boolean())
        out = it->get<bool>();
    } else if (it->is_number()) {
      out = it->get<T>();
    }
  }
}

std::vector<int> int_list(const nlohmann::json& value, size_t count) {
  std::vector<int> out;
  if (value.is_number_integer())
    out.assign(count, value.get<int>());
  else if (value.is_array())
    for (const auto& v : value)
      if (v.is_number_integer())
        out.push_back(v.get<int>());
  return out;
}

}  // namespace

result<model_config> detect_model_config(const shape_lookup& shapes, bool open_clip_source) {
  model_config config;
  CROWDIFF_RETURN_IF_ERROR(detect_unet(shapes, config.unet));
  CROWDIFF_RETURN_IF_ERROR(detect_vae(shapes, config.vae));
  CROWDIFF_RETURN_IF_ERROR(detect_text(shapes, config.text));
  if (config.unet.cross_attention_dim != config.text.hidden_size)
    return status{errc::unsupported,
                  "the UNet attends to " + std::to_string(config.unet.cross_attention_dim) +
                      " channels but the text encoder gives " + std::to_string(config.text.hidden_size)};
  const bool sd2 = open_clip_source || config.text.hidden_size == 1024;
  config.family = sd2 ? model_family::sd2 : model_family::sd1;
  apply_family_defaults(config, open_clip_source);
  return config;
}

status apply_diffusers_config(model_config& config, std::string_view component, std::string_view json_text,
                              std::string_view source) {
  if (json_text.empty())
    return status::ok();
  const nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return status{errc::corruption, std::string(source) + ": not a JSON object"};
  if (component == "unet") {
    auto& unet = config.unet;
    read_if(j, "use_linear_projection", unet.use_linear_projection);
    read_if(j, "norm_num_groups", unet.norm_groups);
    read_if(j, "transformer_layers_per_block", unet.transformer_layers);
    // diffusers names the head count `attention_head_dim` in SD configs; `num_attention_heads` wins when set.
    for (const char* key : {"attention_head_dim", "num_attention_heads"}) {
      const auto it = j.find(key);
      if (it != j.end() && !it->is_null()) {
        auto heads = int_list(*it, unet.block_out_channels.size());
        if (heads.size() == unet.block_out_channels.size())
          unet.attention_heads = std::move(heads);
      }
    }
  } else if (component == "vae") {
    read_if(j, "scaling_factor", config.vae.scaling_factor);
    read_if(j, "norm_num_groups", config.vae.norm_groups);
  } else if (component == "text_encoder") {
    auto& text = config.text;
    read_if(j, "num_attention_heads", text.num_heads);
    read_if(j, "layer_norm_eps", text.layer_norm_eps);
    const auto act = j.find("hidden_act");
    if (act != j.end() && act->is_string()) {
      text.quick_gelu = act->get<std::string>() == "quick_gelu";
      // diffusers' SD2 text encoder is OpenCLIP ViT-H converted to CLIPTextModel with exact gelu.
      if (!text.quick_gelu) {
        config.family = model_family::sd2;
        text.pad_token = 0;
      }
    }
  } else if (component == "tokenizer") {
    const auto pad = j.find("pad_token");
    std::string text;
    if (pad != j.end() && pad->is_string())
      text = pad->get<std::string>();
    else if (pad != j.end() && pad->is_object() && pad->contains("content") && (*pad)["content"].is_string())
      text = (*pad)["content"].get<std::string>();
    if (text == "!")
      config.text.pad_token = 0;
    else if (text == "<|endoftext|>")
      config.text.pad_token = 49407;
  } else if (component == "scheduler") {
    auto& schedule = config.schedule;
    read_if(j, "beta_start", schedule.beta_start);
    read_if(j, "beta_end", schedule.beta_end);
    read_if(j, "num_train_timesteps", schedule.train_steps);
    const auto kind = j.find("beta_schedule");
    if (kind != j.end() && kind->is_string() && kind->get<std::string>() != "scaled_linear")
      return status{errc::unsupported, std::string(source) + ": beta_schedule " + kind->get<std::string>() +
                                           " (crowdiff implements scaled_linear)"};
    const auto pred = j.find("prediction_type");
    if (pred != j.end() && pred->is_string()) {
      const std::string value = pred->get<std::string>();
      if (value == "v_prediction")
        schedule.prediction = prediction_type::v_prediction;
      else if (value == "epsilon")
        schedule.prediction = prediction_type::epsilon;
      else
        return status{errc::unsupported, std::string(source) + ": prediction_type " + value};
    }
  }
  return status::ok();
}

}  // namespace crowdiff::models
