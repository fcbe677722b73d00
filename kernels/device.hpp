#pragma once

#include <cstdint>
#include <string>

namespace crowdiff::kernels {

/// Where a tensor's bytes live.
enum class device_kind : uint8_t { cpu = 0, cuda = 1 };

/// A device: its kind and, for accelerators, its ordinal.
struct device {
  device_kind kind = device_kind::cpu;
  int index = 0;

  static constexpr device cpu() { return {}; }
  static constexpr device cuda(int ordinal) { return {device_kind::cuda, ordinal}; }

  friend constexpr bool operator==(const device&, const device&) = default;
};

/// "cpu" or "cuda:N".
std::string to_string(device d);

}  // namespace crowdiff::kernels
