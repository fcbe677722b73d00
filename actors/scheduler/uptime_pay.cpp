#include "actors/scheduler/uptime_pay.hpp"

#include <algorithm>

namespace crowdiff::scheduling {

std::vector<uptime_payment> uptime_pay::due(std::span<const uptime_worker> workers, int64_t now_ms) {
  std::unordered_map<uint64_t, uint32_t> serving;  // every owner with a live worker, serving ones counted
  for (const auto& w : workers) {
    if (w.owner == 0)
      continue;
    auto& n = serving[w.owner];
    bool works = w.last_delivery_ms > 0 && now_ms - w.last_delivery_ms <= rules_.work_window_ms;
    if (!w.maintenance && works)
      ++n;
  }
  std::vector<uptime_payment> out;
  std::unordered_map<uint64_t, int64_t> next;
  for (const auto& [owner, n] : serving) {
    auto it = paid_until_.find(owner);
    if (n > 0 && it != paid_until_.end() && it->second < now_ms)
      out.push_back({owner, std::min(n, rules_.max_workers_per_owner), it->second, now_ms});
    next[owner] = now_ms;
  }
  paid_until_ = std::move(next);  // owners without live workers are forgotten
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.owner < b.owner; });
  return out;
}

}  // namespace crowdiff::scheduling
