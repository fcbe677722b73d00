#include "kernels/device.hpp"

namespace crowdiff::kernels {

std::string to_string(device d) {
  return d.kind == device_kind::cpu ? std::string("cpu") : "cuda:" + std::to_string(d.index);
}

}  // namespace crowdiff::kernels
