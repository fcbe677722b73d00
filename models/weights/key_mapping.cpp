#include "models/weights/key_mapping.hpp"

#include <algorithm>
#include <charconv>

namespace crowdiff::models {
namespace {

constexpr std::string_view ldm_unet = "model.diffusion_model.";
constexpr std::string_view ldm_vae = "first_stage_model.";
constexpr std::string_view ldm_clip = "cond_stage_model.transformer.";
constexpr std::string_view open_clip = "cond_stage_model.model.";

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// Splits "12.rest" into 12 and "rest"; nullopt when `s` does not start with a number and a dot.
std::optional<std::pair<int, std::string_view>> take_index(std::string_view s) {
  int value = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || ptr == s.data() || ptr == s.data() + s.size() || *ptr != '.')
    return std::nullopt;
  return std::pair{value, s.substr(static_cast<size_t>(ptr - s.data()) + 1)};
}

// Replaces a leading component `from` (followed by '.') by `to`.
bool rename_head(std::string_view rest, std::string_view from, std::string_view to, std::string* out) {
  if (!starts_with(rest, from) || rest.size() <= from.size() || rest[from.size()] != '.')
    return false;
  *out = std::string(to) + std::string(rest.substr(from.size()));
  return true;
}

// LDM ResBlock children to diffusers ResnetBlock2D children.
std::string unet_resnet(std::string_view rest) {
  static constexpr std::pair<std::string_view, std::string_view> names[] = {
      {"in_layers.0", "norm1"},  {"in_layers.2", "conv1"},  {"emb_layers.1", "time_emb_proj"},
      {"out_layers.0", "norm2"}, {"out_layers.3", "conv2"}, {"skip_connection", "conv_shortcut"},
  };
  std::string out;
  for (const auto& [from, to] : names)
    if (rename_head(rest, from, to, &out))
      return out;
  return std::string(rest);
}

std::vector<key_target> one(std::string name) {
  return {key_target{std::move(name), -1, false}};
}

std::vector<key_target> map_unet(std::string_view k, const single_file_structure& s) {
  const std::string p(unet_prefix);
  std::string out;
  if (rename_head(k, "time_embed.0", "time_embedding.linear_1", &out) ||
      rename_head(k, "time_embed.2", "time_embedding.linear_2", &out) ||
      rename_head(k, "out.0", "conv_norm_out", &out) || rename_head(k, "out.2", "conv_out", &out) ||
      rename_head(k, "input_blocks.0.0", "conv_in", &out))
    return one(p + out);
  const int per_level = s.unet_layers_per_block + 1;
  if (starts_with(k, "input_blocks.")) {
    const auto index = take_index(k.substr(13));
    if (!index || index->first < 1)
      return {};
    const auto child = take_index(index->second);
    if (!child)
      return {};
    const int level = (index->first - 1) / per_level;
    const int layer = (index->first - 1) % per_level;
    const std::string base = p + "down_blocks." + std::to_string(level) + ".";
    if (layer == s.unet_layers_per_block) {
      if (rename_head(child->second, "op", "conv", &out))
        return one(base + "downsamplers.0." + out);
      return {};
    }
    if (child->first == 0)
      return one(base + "resnets." + std::to_string(layer) + "." + unet_resnet(child->second));
    return one(base + "attentions." + std::to_string(layer) + "." + std::string(child->second));
  }
  if (starts_with(k, "middle_block.")) {
    const auto child = take_index(k.substr(13));
    if (!child)
      return {};
    if (child->first == 1)
      return one(p + "mid_block.attentions.0." + std::string(child->second));
    return one(p + "mid_block.resnets." + std::to_string(child->first / 2) + "." +
               unet_resnet(child->second));
  }
  if (starts_with(k, "output_blocks.")) {
    const auto index = take_index(k.substr(14));
    if (!index)
      return {};
    const auto child = take_index(index->second);
    if (!child)
      return {};
    const std::string base = p + "up_blocks." + std::to_string(index->first / per_level) + ".";
    const std::string layer = std::to_string(index->first % per_level);
    // An Upsample module owns its conv directly; an attention module never has a child called "conv".
    if (child->first > 0 && starts_with(child->second, "conv."))
      return one(base + "upsamplers.0." + std::string(child->second));
    if (child->first == 0)
      return one(base + "resnets." + layer + "." + unet_resnet(child->second));
    return one(base + "attentions." + layer + "." + std::string(child->second));
  }
  return {};
}

std::string vae_resnet(std::string_view rest) {
  std::string out;
  if (rename_head(rest, "nin_shortcut", "conv_shortcut", &out))
    return out;
  return std::string(rest);
}

// The mid-block attention: LDM's 1x1 convolutions become diffusers' linear layers.
std::vector<key_target> vae_attention(const std::string& base, std::string_view rest) {
  static constexpr std::pair<std::string_view, std::string_view> names[] = {
      {"norm", "group_norm"}, {"q", "to_q"}, {"k", "to_k"}, {"v", "to_v"}, {"proj_out", "to_out.0"},
  };
  std::string out;
  for (const auto& [from, to] : names)
    if (rename_head(rest, from, to, &out))
      return {key_target{base + out, -1, from != "norm"}};
  return {};
}

std::vector<key_target> map_vae(std::string_view k, const single_file_structure& s) {
  const std::string p(vae_prefix);
  for (std::string_view side : {"encoder.", "decoder."}) {
    if (!starts_with(k, side))
      continue;
    const std::string base = p + std::string(side);
    const std::string_view rest = k.substr(side.size());
    std::string out;
    if (rename_head(rest, "norm_out", "conv_norm_out", &out))
      return one(base + out);
    if (starts_with(rest, "conv_in.") || starts_with(rest, "conv_out."))
      return one(base + std::string(rest));
    if (starts_with(rest, "mid.block_1.") || starts_with(rest, "mid.block_2."))
      return one(base + "mid_block.resnets." + (rest[10] == '1' ? "0." : "1.") + vae_resnet(rest.substr(12)));
    if (starts_with(rest, "mid.attn_1."))
      return vae_attention(base + "mid_block.attentions.0.", rest.substr(11));
    const bool down = starts_with(rest, "down.");
    if (!down && !starts_with(rest, "up."))
      return {};
    const auto level = take_index(rest.substr(down ? 5 : 3));
    if (!level)
      return {};
    // The decoder's levels run from the lowest resolution in LDM and from the highest in diffusers.
    const int index = down ? level->first : s.vae_levels - 1 - level->first;
    const std::string block = base + (down ? "down_blocks." : "up_blocks.") + std::to_string(index) + ".";
    if (starts_with(level->second, "block.")) {
      const auto layer = take_index(level->second.substr(6));
      if (!layer)
        return {};
      return one(block + "resnets." + std::to_string(layer->first) + "." + vae_resnet(layer->second));
    }
    if (rename_head(level->second, "downsample", "downsamplers.0", &out) ||
        rename_head(level->second, "upsample", "upsamplers.0", &out))
      return one(block + out);
    return {};
  }
  if (starts_with(k, "quant_conv.") || starts_with(k, "post_quant_conv."))
    return one(p + std::string(k));
  return {};
}

std::vector<key_target> map_open_clip(std::string_view k) {
  const std::string p = std::string(text_encoder_prefix) + "text_model.";
  if (k == "token_embedding.weight")
    return one(p + "embeddings.token_embedding.weight");
  if (k == "positional_embedding")
    return one(p + "embeddings.position_embedding.weight");
  std::string out;
  if (rename_head(k, "ln_final", "final_layer_norm", &out))
    return one(p + out);
  if (!starts_with(k, "transformer.resblocks."))
    return {};  // text_projection, logit_scale, attn_mask: not used to condition the UNet
  const auto layer = take_index(k.substr(22));
  if (!layer)
    return {};
  const std::string base = p + "encoder.layers." + std::to_string(layer->first) + ".";
  const std::string_view rest = layer->second;
  if (rest == "attn.in_proj_weight" || rest == "attn.in_proj_bias") {
    const std::string leaf = rest == "attn.in_proj_weight" ? "weight" : "bias";
    return {key_target{base + "self_attn.q_proj." + leaf, 0, false},
            key_target{base + "self_attn.k_proj." + leaf, 1, false},
            key_target{base + "self_attn.v_proj." + leaf, 2, false}};
  }
  static constexpr std::pair<std::string_view, std::string_view> names[] = {
      {"ln_1", "layer_norm1"}, {"ln_2", "layer_norm2"},   {"attn.out_proj", "self_attn.out_proj"},
      {"mlp.c_fc", "mlp.fc1"}, {"mlp.c_proj", "mlp.fc2"},
  };
  for (const auto& [from, to] : names)
    if (rename_head(rest, from, to, &out))
      return one(base + out);
  return {};
}

}  // namespace

single_file_structure detect_single_file_structure(const std::vector<std::string>& keys) {
  single_file_structure s;
  int first_downsampler = -1;
  int vae_max_level = -1;
  const std::string down_prefix = std::string(ldm_unet) + "input_blocks.";
  const std::string up_prefix = std::string(ldm_vae) + "decoder.up.";
  for (const auto& key : keys) {
    const std::string_view k = key;
    if (starts_with(k, down_prefix)) {
      const auto index = take_index(k.substr(down_prefix.size()));
      if (index && starts_with(index->second, "0.op.") &&
          (first_downsampler < 0 || index->first < first_downsampler))
        first_downsampler = index->first;
    } else if (starts_with(k, up_prefix)) {
      const auto level = take_index(k.substr(up_prefix.size()));
      if (level)
        vae_max_level = std::max(vae_max_level, level->first);
    }
  }
  if (first_downsampler > 1)
    s.unet_layers_per_block = first_downsampler - 1;
  if (vae_max_level >= 0)
    s.vae_levels = vae_max_level + 1;
  return s;
}

std::vector<key_target> map_single_file_key(std::string_view key, const single_file_structure& structure) {
  if (starts_with(key, ldm_unet))
    return map_unet(key.substr(ldm_unet.size()), structure);
  if (starts_with(key, ldm_vae))
    return map_vae(key.substr(ldm_vae.size()), structure);
  if (starts_with(key, ldm_clip)) {
    std::string_view rest = key.substr(ldm_clip.size());
    // Checkpoints made with transformers before 4.17 lack the text_model level.
    if (starts_with(rest, "text_model."))
      rest = rest.substr(11);
    if (rest == "embeddings.position_ids")
      return {};
    return one(std::string(text_encoder_prefix) + "text_model." + std::string(rest));
  }
  if (starts_with(key, open_clip))
    return map_open_clip(key.substr(open_clip.size()));
  return {};
}

key_target map_diffusers_key(std::string_view key, std::string_view component_prefix) {
  const std::string base = std::string(component_prefix);
  if (component_prefix == vae_prefix) {
    static constexpr std::pair<std::string_view, std::string_view> legacy[] = {
        {".attentions.0.query.", ".attentions.0.to_q."},
        {".attentions.0.key.", ".attentions.0.to_k."},
        {".attentions.0.value.", ".attentions.0.to_v."},
        {".attentions.0.proj_attn.", ".attentions.0.to_out.0."},
    };
    for (const auto& [from, to] : legacy) {
      const size_t at = key.find(from);
      if (at != std::string_view::npos) {
        std::string renamed(key);
        renamed.replace(at, from.size(), to);
        return key_target{base + renamed, -1, true};
      }
    }
    // Some diffusers VAEs keep 1x1-conv shapes under today's names; squeezing is a no-op for 2-D tensors.
    const bool attention = key.find(".attentions.0.to_") != std::string_view::npos;
    return key_target{base + std::string(key), -1, attention};
  }
  // transformers 5 saves CLIPTextModel without the "text_model." level every earlier file has.
  if (component_prefix == text_encoder_prefix && !starts_with(key, "text_model."))
    return key_target{base + "text_model." + std::string(key), -1, false};
  return key_target{base + std::string(key), -1, false};
}

}  // namespace crowdiff::models
