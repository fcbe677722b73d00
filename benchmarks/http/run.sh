#!/usr/bin/env bash
# HTTP gateway benchmark: requests per second and latency (p50/p99) of generate/async, generate/check and
# generate/pop against a real `crowdiff core` on loopback with 10,000 waiting jobs, measured with wrk
# (apt-get install wrk), each compared with GET /api/v2/status/heartbeat measured in the same run.
#
#   benchmarks/http/run.sh [build dir, default build]
#
# Settings (environment): CROWDIFF_BENCH_JOBS (queued before measuring, 10000), CROWDIFF_BENCH_SECONDS
# (per endpoint, 10), CROWDIFF_BENCH_CONNECTIONS (async/check/heartbeat, 32), CROWDIFF_BENCH_WORKERS (pop:
# workers, one connection each, 8). Prints a table, then one JSON line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
build=${1:-${CROWDIFF_BUILD_DIR:-build}}
crowdiff="$build/apps/crowdiff/crowdiff"
jobs=${CROWDIFF_BENCH_JOBS:-10000}
seconds=${CROWDIFF_BENCH_SECONDS:-10}
connections=${CROWDIFF_BENCH_CONNECTIONS:-32}
workers=${CROWDIFF_BENCH_WORKERS:-8}
command -v wrk >/dev/null || { echo "http bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$crowdiff" ] || { echo "http bench: no $crowdiff (build it first)" >&2; exit 1; }

tmp=$(mktemp -d)
core_pid=""
cleanup() {
  if [ -n "$core_pid" ]; then kill "$core_pid" 2>/dev/null || true; wait "$core_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(port)
node_port=$(port)
base="http://127.0.0.1:$http_port"
# "bench" is a model no worker serves: the jobs wait, and the pop phase's workers are the only ones for it.
"$crowdiff" core --models=bench --store.directory="$tmp/store" --port "$node_port" --http-port "$http_port" \
  --log-level warning --gateway.listen_host=127.0.0.1 --gateway.test_user_endpoint=true \
  --gateway.rate_limit_loopback=false --limits.max_concurrent_jobs=10000000 --limits.max_concurrent_images=1000000 \
  --scheduler.unservable_timeout_s=86400 >"$tmp/core.log" 2>&1 &
core_pid=$!
for _ in $(seq 300); do
  curl -sf "$base/api/v2/status/heartbeat" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "$base/api/v2/status/heartbeat" >/dev/null || { cat "$tmp/core.log" >&2; exit 1; }
key_of() { curl -sf -X POST "$base/api/v2/dev/test-user" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])'; }
requester=$(key_of)
worker_owner=$(key_of)

export CROWDIFF_BENCH_DIR="$here" CROWDIFF_BENCH_MODEL=bench CROWDIFF_BENCH_KEY="$requester"
run_wrk() {  # threads connections seconds script
  wrk -t"$1" -c"$2" -d"$3"s --latency -s "$here/$4" "$base/api/v2/status/heartbeat" | grep '^RESULT'
}

queued() {
  curl -sf "$base/api/v2/status/performance" | python3 -c 'import json,sys; print(json.load(sys.stdin)["queued_requests"])'
}
# Fills the queue (not measured) with async requests, a second of wrk at a time, until $1 jobs wait; their
# ids are kept for the check phase.
fill_to() {
  for _ in $(seq 600); do
    missing=$(($1 - $(queued)))
    [ "$missing" -gt 0 ] || return 0
    CROWDIFF_BENCH_LIMIT=$missing CROWDIFF_BENCH_THREADS=2 CROWDIFF_BENCH_IDS="$tmp/ids" CROWDIFF_BENCH_NAME=fill \
      run_wrk 2 "$connections" 1 async.lua >/dev/null
  done
}
fill_start=$(date +%s.%N)
fill_to "$jobs"
fill_s=$(python3 -c "import time; print(round(time.time() - $fill_start, 1))")
cat "$tmp"/ids.* >"$tmp/ids"
queued=$(queued)
: >"$tmp/results"

run_wrk 2 "$connections" "$seconds" heartbeat.lua >>"$tmp/results"
CROWDIFF_BENCH_IDS="$tmp/ids" run_wrk 2 "$connections" "$seconds" check.lua >>"$tmp/results"
run_wrk 2 "$connections" "$seconds" async.lua >>"$tmp/results"
# Pops take jobs out: each worker stops after its share of what waits beyond $jobs, so the queue never drops
# below $jobs (the async phase usually left plenty; otherwise top it up).
fill_to $((jobs + 1000 * workers))
# What the workers submit: a real 512x512 PNG, the jobs' size (async.lua), not one colour: every result is
# decoded and checked before it is paid, so a smaller or flat image would be refused.
python3 - "$tmp/image.b64" <<'PY'
import base64, struct, sys, zlib
side = 512
raw = b"".join(b"\x00" + bytes(v for x in range(side) for v in ((x + y) % 256, (2 * x) % 256, (3 * y) % 256))
              for y in range(side))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
open(sys.argv[1], "w").write(base64.b64encode(png).decode())
PY
export CROWDIFF_BENCH_IMAGE="$tmp/image.b64"
pop_limit=$((($(queued) - jobs) / workers))
CROWDIFF_BENCH_KEY="$worker_owner" CROWDIFF_BENCH_LIMIT=$pop_limit \
  run_wrk "$workers" "$workers" "$seconds" pop.lua >>"$tmp/results"
left=$(queued)
# The same check phase again while 1,000 slow or idle connections (from many loopback addresses) are held open
# against the gateway, and the core's resident memory is watched.
python3 "$here/slowloris.py" "$http_port" $((seconds + 4)) 1000 "$core_pid" >"$tmp/attack" &
attack_pid=$!
sleep 2
CROWDIFF_BENCH_IDS="$tmp/ids" CROWDIFF_BENCH_NAME=check_attack run_wrk 2 "$connections" "$seconds" check.lua \
  >>"$tmp/results"
wait "$attack_pid"

python3 - "$tmp/results" "$queued" "$left" "$jobs" "$fill_s" "$tmp/attack" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    fields = line.split()
    rows[fields[1]] = {k: float(v) for k, v in (f.split("=") for f in fields[2:])}
queued, left, target, fill_s = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
floor = rows["heartbeat"]["rps"]
print(f"HTTP gateway, loopback: {queued} jobs waiting when measuring began (queued in {fill_s} s), {left} at the end")
print(f"{'endpoint':<28}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs heartbeat':>14}{'errors':>8}")
attack = json.load(open(sys.argv[6]))
names = {"heartbeat": "GET status/heartbeat", "check": "GET generate/check",
         "check_attack": "GET generate/check (attack)",
         "async": "POST generate/async", "pop": "POST generate/pop (a job)", "submit": "POST generate/submit"}
for key in ("heartbeat", "check", "async", "pop", "submit", "check_attack"):
    r = rows[key]
    print(f"{names[key]:<28}{int(r['requests']):>10}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
          f"{r['rps'] / floor:>14.2f}{int(r['errors']):>8}")
if rows["pop"].get("empty", 0):
    print(f"note: {int(rows['pop']['empty'])} pops found no job (the queue ran dry); they are not in the pop figures")
print(f"attack: 1,000 slow or idle connections held while 'check (attack)' ran: {attack['opened']} opened, "
      f"{attack['closed_by_server']} closed by the server, {attack['held_at_end']} held at the end; core RSS "
      f"+{attack['peak_rss_growth_mb']} MB at its peak")
if queued < target:
    print(f"note: only {queued} of {target} jobs were waiting")
print(json.dumps({"bench": "http", "heartbeat_rps": round(floor, 1), "async_rps": round(rows["async"]["rps"], 1),
                  "check_rps": round(rows["check"]["rps"], 1), "pop_rps": round(rows["pop"]["rps"], 1),
                  "pop_p50_ms": round(rows["pop"]["p50_ms"], 3), "pop_p99_ms": round(rows["pop"]["p99_ms"], 3),
                  "submit_p99_ms": round(rows["submit"]["p99_ms"], 3), "queued": queued,
                  "check_p99_ms": round(rows["check"]["p99_ms"], 3),
                  "check_p99_under_slowloris_ms": round(rows["check_attack"]["p99_ms"], 3),
                  "rss_growth_under_attack_mb": attack["peak_rss_growth_mb"]}))
PY
