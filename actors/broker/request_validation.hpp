#pragma once

#include <set>
#include <string>

#include "common/status.hpp"
#include "crowdiff/v1/config.pb.h"
#include "crowdiff/v1/job.pb.h"

namespace crowdiff::broker {

/// Checks a job request against the node's limits before anything is stored: prompt (valid UTF-8, no NUL,
/// length), sampler, steps, cfg scale, size (multiples of 8 from 64 to max_side), n (1 to max_images),
/// denoising strength and source image (both or neither), clip skip, models (each must be in `known_models`),
/// worker lists and the expiry. invalid_argument naming the field and the allowed range otherwise.
status validate_request(const v1::JobRequest& request, const v1::LimitsConfig& limits,
                        const std::set<std::string>& known_models);

}  // namespace crowdiff::broker
