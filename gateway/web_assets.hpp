#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace crowdiff::gateway {

/// A file of the web page, built into the binary from gateway/web/.
struct web_asset {
  const char* path;  ///< "/index.html"
  const char* content_type;
  const unsigned char* data;
  size_t size;
};

const std::vector<web_asset>& web_assets();

}  // namespace crowdiff::gateway
