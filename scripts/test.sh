#!/usr/bin/env bash
# Builds crowdiff and runs every test: the normal build, then the same tests under AddressSanitizer and
# UndefinedBehaviorSanitizer, then the fuzz targets (clang). Installs the Debian packages it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs=${CROWDIFF_JOBS:-2}

# -- The layering (docs/ARCHITECTURE.md, Layers): every #include checked against what its layer may use.
python3 tools/check_layers.py --self-test
python3 tools/check_layers.py

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure --timeout 600

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCROWDIFF_SANITIZE=ON -DCROWDIFF_CUDA=OFF
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 1200 -LE gpu

# -- Fuzzing (tests/fuzz/README.md): the libFuzzer targets built with clang, every corpus replayed, then each
# -- target fuzzed for a fixed time (CROWDIFF_FUZZ_SECONDS, 20 by default).
./tests/fuzz/run.sh

# -- The web page in headless Chromium against the normal build (tests/browser/README.md; screenshots and the
# -- core's log in build/browser-test/). Installs chromium from Debian and Playwright from PyPI into a venv.
CROWDIFF_BUILD_DIR=build ./tests/browser/run.sh

# -- The AI Horde conformance lane against the normal build (tests/conformance/README.md): horde-sdk from PyPI
# -- in a venv, as clients and as workers, plus plain-HTTP checks of what the SDK does not check.
CROWDIFF_BUILD_DIR=build ./tests/conformance/run.sh
