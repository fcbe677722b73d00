#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, build-fuzz/), replays every committed corpus, then
# fuzzes each target for a fixed time. A crash stops the run with the input saved in build-fuzz/artifacts/;
# fix it and add the input to the target's corpus (tests/fuzz/README.md).
#
#   tests/fuzz/run.sh            CROWDIFF_FUZZ_SECONDS (per target, default 20), CROWDIFF_JOBS (default 2)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${CROWDIFF_FUZZ_SECONDS:-20}
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCROWDIFF_FUZZ=ON \
  -DCROWDIFF_CUDA=OFF -DCROWDIFF_WERROR=OFF >/dev/null
cmake --build "$build" -j"${CROWDIFF_JOBS:-2}" --target fuzzers
mkdir -p "$build/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for corpus in tests/fuzz/corpus/*/; do
  target=$(basename "$corpus")
  bin="$build/tests/fuzz/$target"
  # Replays each committed input once (what once crashed must not crash again).
  if ! "$bin" -runs=0 "$corpus" >"$build/artifacts/$target.replay.log" 2>&1; then
    echo "fuzz: $target fails on its own corpus:"; tail -40 "$build/artifacts/$target.replay.log"; failed=1; continue
  fi
  # New inputs go to a scratch folder, never into the committed corpus.
  scratch="$build/scratch/$target"
  rm -rf "$scratch" && mkdir -p "$scratch"
  if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
      -artifact_prefix="$build/artifacts/$target-" -print_final_stats=1 "$scratch" "$corpus" \
      >"$build/artifacts/$target.log" 2>&1; then
    echo "fuzz: $target crashed:"; tail -60 "$build/artifacts/$target.log"; failed=1; continue
  fi
  runs=$(grep -a 'stat::number_of_executed_units' "$build/artifacts/$target.log" | awk '{print $2}')
  echo "fuzz: $target ok ($runs runs in ${seconds}s, corpus replayed)"
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz: 0 passed... see above" >&2
  exit 1
fi
echo "fuzz: every target replayed its corpus and ran ${seconds}s without a crash"
