#include "actors/ledger/pricing.hpp"

#include <algorithm>
#include <cmath>

#include "models/sampling/sampler_table.hpp"

namespace crowdiff::ledger {

uint32_t model_calls_per_step(v1::Sampler sampler) {
  return models::sampler_of_wire(sampler).calls_per_step;
}

uint32_t effective_steps(const v1::JobRequest& request) {
  if (request.source_image().empty())
    return request.steps();
  auto steps = static_cast<uint32_t>(static_cast<double>(request.steps()) * request.denoising_strength());
  return std::clamp<uint32_t>(steps, 1, std::max<uint32_t>(request.steps(), 1));
}

double megapixel_steps(const v1::JobRequest& request) {
  return static_cast<double>(request.width()) * request.height() * effective_steps(request) *
         model_calls_per_step(request.sampler()) / 1e6;
}

int64_t to_mk(double kudos) {
  return static_cast<int64_t>(std::llround(kudos * 1000.0));
}

result<v1::KudosQuote> quote(const v1::JobRequest& request, const v1::LedgerConfig& config) {
  if (request.width() == 0 || request.height() == 0 || request.steps() == 0)
    return status{errc::invalid_argument, "a job needs a size and steps to be priced"};
  v1::KudosQuote q;
  double mps = megapixel_steps(request);
  q.set_megapixel_steps(mps);
  q.set_value_per_image_mk(to_mk(mps * config.kudos_per_megapixel_step()));
  q.set_price_per_image_mk(q.value_per_image_mk() + to_mk(config.fee_per_image()));
  q.set_total_mk(q.price_per_image_mk() * std::max<uint32_t>(request.n(), 1));
  return q;
}

}  // namespace crowdiff::ledger
