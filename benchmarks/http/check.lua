-- GET /api/v2/generate/check/{id} for random waiting jobs (the ids async.lua wrote while filling the queue).
local common = dofile(os.getenv("CROWDIFF_BENCH_DIR") .. "/common.lua")

local paths = {}

function init(args)
  for line in io.lines(os.getenv("CROWDIFF_BENCH_IDS")) do
    paths[#paths + 1] = wrk.format("GET", "/api/v2/generate/check/" .. line)
  end
  math.randomseed(os.time() + #paths)
end

function request()
  return paths[math.random(#paths)]
end

function done(summary, latency)
  common.report(os.getenv("CROWDIFF_BENCH_NAME") or "check", summary, latency)
end
