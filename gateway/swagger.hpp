#pragma once

#include <string>

namespace crowdiff::gateway {

/// The Swagger 2.0 description of the API this gateway serves (/api/swagger.json).
std::string swagger_document(const std::string& public_url);

}  // namespace crowdiff::gateway
