#pragma once

#include "common/status.hpp"
#include "crowdiff/v1/config.pb.h"
#include "crowdiff/v1/job.pb.h"

namespace crowdiff::ledger {

/// Steps a sampler evaluates the model per step: second-order samplers (k_heun, k_dpm_2, k_dpm_2_a,
/// k_dpmpp_2s_a, k_dpmpp_sde) call it twice.
uint32_t model_calls_per_step(v1::Sampler sampler);

/// The steps that actually run: img2img starts part-way (int(steps * strength), at least 1), as diffusers
/// does.
uint32_t effective_steps(const v1::JobRequest& request);

/// The work of one image in megapixel-steps: width * height * effective steps * calls per step / 10^6.
double megapixel_steps(const v1::JobRequest& request);

/// The price of a job, a documented function of its work:
///   value per image = round(megapixel_steps * kudos_per_megapixel_step, 0.001 kudos)  -> worker's owner
///   price per image = value + fee_per_image                                          -> paid by requester
///   total           = price per image * n
/// The fee is burned; it keeps the kudos supply from growing with every job. invalid_argument when the
/// request has no work (zero size or steps).
result<v1::KudosQuote> quote(const v1::JobRequest& request, const v1::LedgerConfig& config);

/// Kudos (a double, as shown to people) to milli-kudos, rounded.
int64_t to_mk(double kudos);

}  // namespace crowdiff::ledger
