#!/usr/bin/env bash
# Builds crowdiff and starts the all-in-one node (`crowdiff up`: the core and a local worker, store in ./var).
# Installs the Debian packages it needs first. Extra arguments go to `crowdiff up`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${CROWDIFF_JOBS:-2}" --target crowdiff
exec ./build/apps/crowdiff/crowdiff up "$@"
