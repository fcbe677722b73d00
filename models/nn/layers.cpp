#include "models/nn/layers.hpp"

#include "kernels/status_macros.hpp"

namespace crowdiff::models {

using kernels::weight_use;

result<linear_layer> linear_layer::load(weight_loader& loader, const std::string& prefix, int64_t in,
                                        int64_t out, bool bias) {
  linear_layer layer;
  CROWDIFF_ASSIGN_OR_RETURN(layer.weight, loader.load(prefix + "weight", {out, in}, weight_use::linear));
  if (bias) {
    CROWDIFF_ASSIGN_OR_RETURN(layer.bias, loader.load(prefix + "bias", {out}, weight_use::other));
  }
  return layer;
}

result<linear_layer> linear_layer::load_pointwise(weight_loader& loader, const std::string& prefix,
                                                  int64_t in, int64_t out) {
  linear_layer layer;
  CROWDIFF_ASSIGN_OR_RETURN(
      layer.weight, loader.load_as(prefix + "weight", {out, in, 1, 1}, {out, in}, weight_use::linear));
  CROWDIFF_ASSIGN_OR_RETURN(layer.bias, loader.load(prefix + "bias", {out}, weight_use::other));
  return layer;
}

result<conv_layer> conv_layer::load(weight_loader& loader, const std::string& prefix, int64_t in, int64_t out,
                                    int64_t kernel, kernels::conv2d_options options) {
  conv_layer layer;
  layer.options = options;
  CROWDIFF_ASSIGN_OR_RETURN(layer.weight,
                            loader.load(prefix + "weight", {out, in, kernel, kernel}, weight_use::conv2d));
  CROWDIFF_ASSIGN_OR_RETURN(layer.bias, loader.load(prefix + "bias", {out}, weight_use::other));
  return layer;
}

result<group_norm_layer> group_norm_layer::load(weight_loader& loader, const std::string& prefix,
                                                int64_t channels, int64_t groups, float eps) {
  if (groups <= 0 || channels % groups != 0)
    return status{errc::unsupported, prefix + ": " + std::to_string(channels) + " channels in " +
                                         std::to_string(groups) + " groups"};
  group_norm_layer layer;
  layer.groups = groups;
  layer.eps = eps;
  CROWDIFF_ASSIGN_OR_RETURN(layer.gamma, loader.load(prefix + "weight", {channels}, weight_use::other));
  CROWDIFF_ASSIGN_OR_RETURN(layer.beta, loader.load(prefix + "bias", {channels}, weight_use::other));
  return layer;
}

result<layer_norm_layer> layer_norm_layer::load(weight_loader& loader, const std::string& prefix, int64_t dim,
                                                float eps) {
  layer_norm_layer layer;
  layer.eps = eps;
  CROWDIFF_ASSIGN_OR_RETURN(layer.gamma, loader.load(prefix + "weight", {dim}, weight_use::other));
  CROWDIFF_ASSIGN_OR_RETURN(layer.beta, loader.load(prefix + "bias", {dim}, weight_use::other));
  return layer;
}

}  // namespace crowdiff::models
