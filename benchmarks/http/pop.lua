-- The HTTP worker's cycle: POST /api/v2/generate/pop, then POST /api/v2/generate/submit of the popped job (a
-- real PNG of the job's size, base64, from $CROWDIFF_BENCH_IMAGE: every result is decoded and checked before
-- it is paid), then pop again. Run with one connection per wrk thread: each thread is one worker (its
-- own name, threads=1), so requests and responses alternate and each is timed on its own (wrk's own
-- statistics would mix pops and submits). Pops that find no job (the queue ran dry; held up to 1 s by the
-- gateway) are counted apart and left out of the pop latencies. With CROWDIFF_BENCH_LIMIT a worker stops
-- after that many jobs (wrk itself runs on for its -d), so rates are taken over each worker's own active time.
local common = dofile(os.getenv("CROWDIFF_BENCH_DIR") .. "/common.lua")

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("worker", "bench-worker-" .. #threads)
end

local png
local headers = { ["apikey"] = common.key, ["Content-Type"] = "application/json",
  ["Client-Agent"] = "AI Horde Worker reGen:10.1.1:https://github.com/Haidra-Org/horde-worker-reGen" }
local pop_body, kind, sent, pending

pop_lat, submit_lat, empty, failed, first_ms, last_ms = {}, {}, 0, 0, 0, 0
local limit

function init(args)
  limit = tonumber(os.getenv("CROWDIFF_BENCH_LIMIT") or "0")
  local image = assert(io.open(os.getenv("CROWDIFF_BENCH_IMAGE"), "r"))
  png = image:read("*a")
  image:close()
  pop_body = string.format(
    '{"name":"%s","models":["%s"],"max_pixels":4194304,"threads":1,"nsfw":true,"amount":1,' ..
    '"bridge_agent":"AI Horde Worker reGen:10.1.1:https://github.com/Haidra-Org/horde-worker-reGen"}',
    worker, common.model)
end

function request()
  sent = common.now_ms()
  if first_ms == 0 then
    first_ms = sent
  end
  if pending then
    kind = "submit"
    local body = string.format('{"id":"%s","generation":"%s","state":"ok","seed":1312}', pending, png)
    pending = nil
    return wrk.format("POST", "/api/v2/generate/submit", headers, body)
  end
  kind = "pop"
  return wrk.format("POST", "/api/v2/generate/pop", headers, pop_body)
end

function response(status, _, body)
  local ms = common.now_ms() - sent
  if kind == "pop" then
    local job = status == 200 and body:match('"id":"([%x%-]+)"') or nil
    if job then
      pop_lat[#pop_lat + 1] = ms
      pending = job
    elseif status == 200 then
      empty = empty + 1
    else
      failed = failed + 1
    end
  elseif status == 200 then
    submit_lat[#submit_lat + 1] = ms
  else
    failed = failed + 1
  end
  last_ms = common.now_ms()
  if limit > 0 and kind == "submit" and #submit_lat >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency)
  local pops, submits, empties, failures, pop_rate, submit_rate = {}, {}, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    local p, s = t:get("pop_lat"), t:get("submit_lat")
    for _, v in ipairs(p) do pops[#pops + 1] = v end
    for _, v in ipairs(s) do submits[#submits + 1] = v end
    empties = empties + t:get("empty")
    failures = failures + t:get("failed")
    local seconds = (t:get("last_ms") - t:get("first_ms")) / 1000
    if seconds > 0 then
      pop_rate = pop_rate + #p / seconds
      submit_rate = submit_rate + #s / seconds
    end
  end
  io.write(string.format("RESULT pop requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d empty=%d\n", #pops,
    pop_rate, common.percentile(pops, 50), common.percentile(pops, 99), failures, empties))
  io.write(string.format("RESULT submit requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n", #submits,
    submit_rate, common.percentile(submits, 50), common.percentile(submits, 99), failures))
end
