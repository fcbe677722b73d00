#!/usr/bin/env bash
# Runs the browser test (tests/browser/test_web_page.py) against the crowdiff build in $CROWDIFF_BUILD_DIR
# (default build/): installs Debian's chromium, makes a venv with Playwright (no browser download), runs the
# test headless. Screenshots and the core's log land in $CROWDIFF_BROWSER_ARTIFACTS (default
# <build>/browser-test/). Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${CROWDIFF_BUILD_DIR:-build}
venv=${CROWDIFF_BROWSER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/crowdiff/browser-venv}

if [ ! -x "$build/apps/crowdiff/crowdiff" ]; then
  echo "browser test: no crowdiff binary in $build (build it first, or set CROWDIFF_BUILD_DIR)" >&2
  exit 1
fi

missing=()
command -v chromium >/dev/null || missing+=(chromium)
python3 -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: ${missing[*]}" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The venv is remade when requirements.txt changes.
stamp="$venv/.requirements.txt"
if ! cmp -s tests/browser/requirements.txt "$stamp"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$venv/bin/pip" install -q --disable-pip-version-check \
    -r tests/browser/requirements.txt
  cp tests/browser/requirements.txt "$stamp"
fi

export CROWDIFF_BUILD_DIR="$build" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CHROMIUM=${CHROMIUM:-$(command -v chromium)}
timeout 600 "$venv/bin/python" tests/browser/test_web_page.py
