#!/usr/bin/env bash
# Runs the AI Horde conformance lane (tests/conformance/README.md) against the crowdiff build in
# $CROWDIFF_BUILD_DIR (default build/): makes a venv with horde-sdk, pytest and requests from PyPI, starts
# real cores on loopback and drives their gateway as horde-sdk clients and workers. Exits non-zero when
# anything fails. Extra arguments go to pytest (e.g. -k cancel).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${CROWDIFF_BUILD_DIR:-build}
venv=${CROWDIFF_CONFORMANCE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/crowdiff/conformance-venv}

if [ ! -x "$build/apps/crowdiff/crowdiff" ]; then
  echo "conformance: no crowdiff binary in $build (build it first, or set CROWDIFF_BUILD_DIR)" >&2
  exit 1
fi

if ! python3 -c "import ensurepip" 2>/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: python3-venv" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi

# The venv is remade when requirements.txt changes.
stamp="$venv/.requirements.txt"
if ! cmp -s tests/conformance/requirements.txt "$stamp"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/conformance/requirements.txt
  cp tests/conformance/requirements.txt "$stamp"
fi

export CROWDIFF_BUILD_DIR="$build"
timeout 900 "$venv/bin/python" -m pytest -c tests/conformance/pytest.ini tests/conformance "$@"
