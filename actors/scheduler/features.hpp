#pragma once

// What a job may need of a worker beyond a model and a size, in one table: the bit the Scheduler matches on
// and the name on the wire (crowdiff.v1.WorkerRegistration.features). Workers advertise names from here
// (our pipeline, the HTTP workers' pop), the Scheduler turns jobs and registrations into bits, the gateway
// reports them. Header-only.
//
// To add a feature: a bit and a row here, what in a request needs it (required_features), and which workers
// advertise it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crowdiff/v1/job.pb.h"

namespace crowdiff::scheduling {

/// Capabilities a job may need, as bits: a worker must have all of the job's.
enum feature : uint32_t {
  feature_img2img = 1u << 0,    ///< a source image (image to image)
  feature_karras = 1u << 1,     ///< Karras noise levels
  feature_clip_skip = 1u << 2,  ///< stopping the text encoder early (clip_skip > 1)
};

struct feature_info {
  feature bit;
  std::string_view name;
};

inline constexpr feature_info feature_table[] = {
    {feature_img2img, "img2img"},
    {feature_karras, "karras"},
    {feature_clip_skip, "clip_skip"},
};

/// The bit of a feature name; 0 for names the scheduler does not use (a newer worker's, ignored).
constexpr uint32_t feature_bit(std::string_view name) {
  for (const auto& f : feature_table)
    if (f.name == name)
      return f.bit;
  return 0;
}

/// The features a request needs.
inline uint32_t required_features(const v1::JobRequest& r) {
  uint32_t bits = 0;
  if (!r.source_image().empty())
    bits |= feature_img2img;
  if (r.karras())
    bits |= feature_karras;
  if (r.clip_skip() > 1)
    bits |= feature_clip_skip;
  return bits;
}

/// The names of the features in `bits`, in table order.
inline std::vector<std::string> feature_names(uint32_t bits) {
  std::vector<std::string> out;
  for (const auto& f : feature_table)
    if ((bits & f.bit) != 0)
      out.emplace_back(f.name);
  return out;
}

}  // namespace crowdiff::scheduling
