-- GET /api/v2/status/heartbeat: the cheapest endpoint, the floor the others are compared with.
local common = dofile(os.getenv("CROWDIFF_BENCH_DIR") .. "/common.lua")

function done(summary, latency)
  common.report("heartbeat", summary, latency)
end
