-- Shared by the wrk scripts of benchmarks/http: the settings run.sh passes in the environment, a monotonic
-- clock (LuaJIT ffi), and the one-line result every script's done() prints for run.sh to read.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } crowdiff_timespec;
  int clock_gettime(int clock_id, crowdiff_timespec* tp);
]]
local ts = ffi.new("crowdiff_timespec")

local common = {}

common.key = os.getenv("CROWDIFF_BENCH_KEY") or "0000000000"
common.model = os.getenv("CROWDIFF_BENCH_MODEL") or "stable_diffusion"

function common.now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- The p-th percentile of a list of numbers (sorted in place).
function common.percentile(values, p)
  if #values == 0 then
    return 0
  end
  table.sort(values)
  local i = math.max(1, math.min(#values, math.ceil(#values * p / 100)))
  return values[i]
end

-- RESULT <name> requests=<n> rps=<r> p50_ms=<x> p99_ms=<y> errors=<e>, from wrk's own statistics.
function common.report(name, summary, latency)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout
  io.write(string.format("RESULT %s requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n", name,
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, errors))
end

return common
