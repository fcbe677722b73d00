#include "kernels/ops.hpp"

namespace crowdiff::kernels {

std::string_view to_string(op_kind op) {
  switch (op) {
    case op_kind::convert:
      return "convert";
    case op_kind::linear:
      return "linear";
    case op_kind::matmul:
      return "matmul";
    case op_kind::conv2d:
      return "conv2d";
    case op_kind::group_norm:
      return "group_norm";
    case op_kind::layer_norm:
      return "layer_norm";
    case op_kind::attention:
      return "attention";
    case op_kind::softmax:
      return "softmax";
    case op_kind::activation:
      return "activation";
    case op_kind::geglu:
      return "geglu";
    case op_kind::upsample_nearest:
      return "upsample_nearest";
    case op_kind::add:
      return "add";
    case op_kind::mul:
      return "mul";
    case op_kind::scale:
      return "scale";
    case op_kind::concat:
      return "concat";
    case op_kind::permute:
      return "permute";
    case op_kind::slice:
      return "slice";
    case op_kind::embedding:
      return "embedding";
  }
  return "unknown";
}

std::string_view to_string(activation a) {
  switch (a) {
    case activation::silu:
      return "silu";
    case activation::gelu:
      return "gelu";
    case activation::gelu_tanh:
      return "gelu_tanh";
    case activation::quick_gelu:
      return "quick_gelu";
  }
  return "unknown";
}

}  // namespace crowdiff::kernels
