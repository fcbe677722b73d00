#!/usr/bin/env bash
# Installs the Debian 12 packages crowdiff builds and tests with. Safe to run again: apt skips what is there.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config clang-format python3
  clang libclang-rt-14-dev
  libcaf-dev libprotobuf-dev protobuf-compiler liblmdb-dev lmdb-utils libsodium-dev
  libboost-dev libboost-test-dev libboost-program-options-dev
  libssl-dev nlohmann-json3-dev
  libdnnl-dev ocl-icd-opencl-dev libwebp-dev libpng-dev zlib1g-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
