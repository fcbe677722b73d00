-- POST /api/v2/generate/async: one 512x512, 20-step request per call, for a model no worker serves, so each
-- call adds a waiting job. With CROWDIFF_BENCH_LIMIT each thread stops sending after its share of that many
-- jobs (wrk itself still runs for its -d); with CROWDIFF_BENCH_IDS every job id is appended to a file per
-- thread, <path>.<thread> (for check.lua).
local common = dofile(os.getenv("CROWDIFF_BENCH_DIR") .. "/common.lua")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local body = string.format(
  '{"prompt":"a lighthouse at dusk, benchmark","models":["%s"],"params":{"width":512,"height":512,"steps":20}}',
  common.model)
local headers = { ["apikey"] = common.key, ["Content-Type"] = "application/json", ["Client-Agent"] = "crowdiff-bench:1:local" }
local limit, ids, made

function init(args)
  local total = tonumber(os.getenv("CROWDIFF_BENCH_LIMIT") or "0")
  local nthreads = tonumber(os.getenv("CROWDIFF_BENCH_THREADS") or "1")
  limit = total > 0 and math.ceil(total / nthreads) or 0
  made = 0
  local path = os.getenv("CROWDIFF_BENCH_IDS")
  if path then
    ids = io.open(path .. "." .. id, "a")
  end
end

function request()
  return wrk.format("POST", "/api/v2/generate/async", headers, body)
end

function response(status, _, reply)
  if status ~= 202 then
    return
  end
  made = made + 1
  if ids then
    local job = reply:match('"id":"([%x%-]+)"')
    if job then
      ids:write(job, "\n")
    end
  end
  if limit > 0 and made >= limit then
    if ids then
      ids:close()
      ids = nil
    end
    wrk.thread:stop()
  end
end

function done(summary, latency)
  common.report(os.getenv("CROWDIFF_BENCH_NAME") or "async", summary, latency)
end
