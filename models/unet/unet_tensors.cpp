#include "models/unet/unet_tensors.hpp"

#include <cstdint>
#include <string>

namespace crowdiff::models {

namespace {

// The tensors of the blocks unet_model::load builds, named and shaped as their own `load` asks for them.
class spec_list {
 public:
  explicit spec_list(const unet_config& config) : config_(config) {}

  std::vector<tensor_spec> take() { return std::move(specs_); }

  void linear(const std::string& prefix, int64_t in, int64_t out, bool bias = true) {
    add(prefix + "weight", {out, in});
    if (bias)
      add(prefix + "bias", {out});
  }
  void conv(const std::string& prefix, int64_t in, int64_t out, int64_t kernel) {
    add(prefix + "weight", {out, in, kernel, kernel});
    add(prefix + "bias", {out});
  }
  void norm(const std::string& prefix, int64_t channels) {
    add(prefix + "weight", {channels});
    add(prefix + "bias", {channels});
  }

  void resnet(const std::string& prefix, int64_t in, int64_t out, int64_t time_channels) {
    norm(prefix + "norm1.", in);
    conv(prefix + "conv1.", in, out, 3);
    linear(prefix + "time_emb_proj.", time_channels, out);
    norm(prefix + "norm2.", out);
    conv(prefix + "conv2.", out, out, 3);
    if (in != out)
      conv(prefix + "conv_shortcut.", in, out, 1);
  }

  void transformer(const std::string& prefix, int64_t channels) {
    norm(prefix + "norm.", channels);
    for (const char* projection : {"proj_in.", "proj_out."}) {
      if (config_.use_linear_projection)
        linear(prefix + projection, channels, channels);
      else
        conv(prefix + projection, channels, channels, 1);
    }
    const int64_t context = config_.cross_attention_dim;
    for (int i = 0; i < config_.transformer_layers; ++i) {
      const std::string block = prefix + "transformer_blocks." + std::to_string(i) + ".";
      norm(block + "norm1.", channels);
      attention(block + "attn1.", channels, channels);
      norm(block + "norm2.", channels);
      attention(block + "attn2.", channels, context);
      norm(block + "norm3.", channels);
      // GEGLU: the first projection makes the value and the gate of the 4x-wide inner layer together.
      linear(block + "ff.net.0.proj.", channels, 8 * channels);
      linear(block + "ff.net.2.", 4 * channels, channels);
    }
  }

 private:
  void attention(const std::string& prefix, int64_t channels, int64_t context) {
    linear(prefix + "to_q.", channels, channels, false);
    linear(prefix + "to_k.", context, channels, false);
    linear(prefix + "to_v.", context, channels, false);
    linear(prefix + "to_out.0.", channels, channels);
  }
  void add(std::string name, std::vector<int64_t> shape) {
    specs_.push_back({std::move(name), std::move(shape)});
  }

  const unet_config& config_;
  std::vector<tensor_spec> specs_;
};

std::string at(const std::string& prefix, size_t index) {
  return prefix + std::to_string(index) + ".";
}

}  // namespace

unet_config sd1_unet_config() {
  unet_config config;
  config.in_channels = 4;
  config.out_channels = 4;
  config.block_out_channels = {320, 640, 1280, 1280};
  config.down_block_attention = {true, true, true, false};
  config.attention_heads = {8, 8, 8, 8};
  config.layers_per_block = 2;
  config.transformer_layers = 1;
  config.cross_attention_dim = 768;
  config.use_linear_projection = false;
  config.norm_groups = 32;
  return config;
}

result<std::vector<tensor_spec>> unet_tensor_specs(const unet_config& config) {
  CROWDIFF_RETURN_IF_ERROR(validate(config));
  const size_t levels = config.block_out_channels.size();
  spec_list specs(config);
  const std::string p = "unet.";
  const int64_t c0 = config.block_out_channels[0];
  const int64_t time_channels = 4 * c0;
  specs.linear(p + "time_embedding.linear_1.", c0, time_channels);
  specs.linear(p + "time_embedding.linear_2.", time_channels, time_channels);
  specs.conv(p + "conv_in.", config.in_channels, c0, 3);

  // The down path, recording the channels of every skip connection the up path takes back.
  std::vector<int64_t> skips{c0};
  int64_t ch = c0;
  for (size_t i = 0; i < levels; ++i) {
    const std::string prefix = at(p + "down_blocks.", i);
    const int64_t width = config.block_out_channels[i];
    for (int j = 0; j < config.layers_per_block; ++j) {
      const auto k = static_cast<size_t>(j);
      specs.resnet(at(prefix + "resnets.", k), ch, width, time_channels);
      ch = width;
      if (config.down_block_attention[i])
        specs.transformer(at(prefix + "attentions.", k), ch);
      skips.push_back(ch);
    }
    if (i + 1 < levels) {
      specs.conv(prefix + "downsamplers.0.conv.", ch, ch, 3);
      skips.push_back(ch);
    }
  }

  const std::string mid = p + "mid_block.";
  specs.resnet(mid + "resnets.0.", ch, ch, time_channels);
  specs.transformer(mid + "attentions.0.", ch);
  specs.resnet(mid + "resnets.1.", ch, ch, time_channels);

  // Up block i serves level levels-1-i, with one resnet more than going down.
  for (size_t i = 0; i < levels; ++i) {
    const size_t source = levels - 1 - i;
    const std::string prefix = at(p + "up_blocks.", i);
    const int64_t width = config.block_out_channels[source];
    for (int j = 0; j <= config.layers_per_block; ++j) {
      const auto k = static_cast<size_t>(j);
      const int64_t skip = skips.back();
      skips.pop_back();
      specs.resnet(at(prefix + "resnets.", k), ch + skip, width, time_channels);
      ch = width;
      if (config.down_block_attention[source])
        specs.transformer(at(prefix + "attentions.", k), ch);
    }
    if (i + 1 < levels)
      specs.conv(prefix + "upsamplers.0.conv.", ch, ch, 3);
  }

  specs.norm(p + "conv_norm_out.", ch);
  specs.conv(p + "conv_out.", ch, config.out_channels, 3);
  return specs.take();
}

}  // namespace crowdiff::models
