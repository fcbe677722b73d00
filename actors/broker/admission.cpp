#include "actors/broker/admission.hpp"

#include <algorithm>
#include <cmath>

#include "actors/ledger/pricing.hpp"

namespace crowdiff::broker {
namespace {

std::string kudos_text(int64_t mk) {
  return std::to_string(std::llround(static_cast<double>(mk) / 1000.0));
}

// "1024x1024" for 1048576 pixels: the side of the square of that area, as people think of sizes.
std::string square(uint64_t pixels) {
  auto side = std::to_string(static_cast<uint64_t>(std::sqrt(static_cast<double>(pixels))));
  return side + "x" + side;
}

status check_concurrency(const v1::JobRequest& request, const requester& who,
                         const v1::LimitsConfig& limits) {
  const uint32_t n = std::max<uint32_t>(request.n(), 1);
  if (who.anonymous) {
    if (who.load.images + n > limits.anonymous_max_concurrent_images())
      return status{errc::resource_exhausted,
                    "anonymous requests share " + std::to_string(limits.anonymous_max_concurrent_images()) +
                        " unfinished images at once and " + std::to_string(who.load.images) +
                        " are taken; register for an API key of your own"};
    return status::ok();
  }
  if (who.load.jobs >= limits.max_concurrent_jobs())
    return status{errc::resource_exhausted,
                  "you have " + std::to_string(who.load.jobs) + " unfinished jobs, the most allowed at once"};
  if (who.load.images + n > limits.max_concurrent_images())
    return status{errc::resource_exhausted,
                  "you have " + std::to_string(who.load.images) + " unfinished images; at most " +
                      std::to_string(limits.max_concurrent_images()) + " may wait at once"};
  return status::ok();
}

// The price is in hand when the balance, less what the user's unfinished images will still cost, covers it.
bool price_in_hand(const requester& who, int64_t price_mk) {
  return !who.anonymous && who.balance_mk - who.load.reserved_mk >= price_mk;
}

result<admitted> decide(v1::JobRequest request, const requester& who, const v1::NodeConfig& config,
                        bool dry_run) {
  const auto& limits = config.limits();
  if (!dry_run)
    CROWDIFF_RETURN_IF_ERROR(check_concurrency(request, who, limits));
  auto quote = ledger::quote(request, config.ledger());
  if (!quote)
    return quote.error();
  admitted out;
  if (!needs_upfront(request, limits) || price_in_hand(who, quote->total_mk()) ||
      (dry_run && !request.allow_downgrade())) {
    out.request = std::move(request);
    out.quote = std::move(*quote);
    return out;
  }
  if (!request.allow_downgrade())
    return status{errc::insufficient_kudos,
                  "this request needs its price (" + kudos_text(quote->total_mk()) +
                      " kudos) in hand: free requests go up to " + std::to_string(limits.free_max_pixels()) +
                      " pixels (" + square(limits.free_max_pixels()) + ") and " +
                      std::to_string(limits.free_max_steps()) + " steps" +
                      (who.anonymous ? "; anonymous requests never have kudos in hand" : "") +
                      "; or set allow_downgrade to have it shrunk to fit"};
  out.request = downgrade(std::move(request), limits);
  auto smaller = ledger::quote(out.request, config.ledger());
  if (!smaller)
    return smaller.error();
  out.quote = std::move(*smaller);
  out.downgraded = true;
  return out;
}

}  // namespace

void add_job(requester_load& load, const v1::JobRecord& record) {
  ++load.jobs;
  load.images += static_cast<uint32_t>(record.images_size());
  for (const auto& slot : record.images())
    if (slot.state() == v1::IMAGE_PENDING || slot.state() == v1::IMAGE_RUNNING)
      load.reserved_mk += record.quote().price_per_image_mk();
}

void remove_job(requester_load& load, const v1::JobRecord& record) {
  requester_load job;
  add_job(job, record);
  load.jobs -= std::min(load.jobs, job.jobs);
  load.images -= std::min(load.images, job.images);
  load.reserved_mk -= std::min(load.reserved_mk, job.reserved_mk);
}

uint32_t counted_steps(const v1::JobRequest& request) {
  return ledger::effective_steps(request) * ledger::model_calls_per_step(request.sampler());
}

bool needs_upfront(const v1::JobRequest& request, const v1::LimitsConfig& limits) {
  return static_cast<uint64_t>(request.width()) * request.height() > limits.free_max_pixels() ||
         counted_steps(request) > limits.free_max_steps();
}

v1::JobRequest downgrade(v1::JobRequest request, const v1::LimitsConfig& limits) {
  const uint64_t free_pixels = limits.free_max_pixels();
  uint64_t w = request.width();
  uint64_t h = request.height();
  if (w * h > free_pixels) {
    const double scale = std::sqrt(static_cast<double>(free_pixels) / static_cast<double>(w * h));
    auto fit = [&](uint64_t side) {
      return std::max<uint64_t>(64, static_cast<uint64_t>(static_cast<double>(side) * scale) / 64 * 64);
    };
    w = std::min(fit(w), w);
    h = std::min(fit(h), h);
    // A side held at 64 can leave the other too long: shorten the longer one until it fits.
    while (w * h > free_pixels && (w > 64 || h > 64)) {
      if (w >= h)
        w -= 64;
      else
        h -= 64;
    }
    request.set_width(static_cast<uint32_t>(w));
    request.set_height(static_cast<uint32_t>(h));
  }
  while (counted_steps(request) > limits.free_max_steps() && request.steps() > 1)
    request.set_steps(request.steps() - 1);
  return request;
}

result<admitted> admit(v1::JobRequest request, const requester& who, const v1::NodeConfig& config) {
  return decide(std::move(request), who, config, false);
}

result<admitted> quote_for(v1::JobRequest request, const requester& who, const v1::NodeConfig& config) {
  return decide(std::move(request), who, config, true);
}

}  // namespace crowdiff::broker
