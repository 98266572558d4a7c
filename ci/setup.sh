#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine lacks to build, test and demo modelwatch.
# Idempotent and quiet: does nothing when every package is already installed.
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build g++ clang libclang-rt-14-dev clang-format pkg-config
  # packaging (CPack .deb: dpkg-shlibdeps; the package's postinst uses adduser)
  dpkg-dev adduser systemd
  # libraries
  prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev nlohmann-json3-dev libsimdjson-dev
  libcurl4-openssl-dev libexpected-dev libssl-dev zlib1g-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # modelwatch-rulegen's allocator (rulegen/CMakeLists.txt)
  libjemalloc2
  # real peers used by the tests and the demo
  prometheus prometheus-alertmanager
  # numeric oracles (Debian's python3, /usr/bin/python3)
  python3 python3-numpy python3-scipy python3-sklearn python3-yaml
  # misc tools the tests use
  curl procps nodejs chromium git
  # the end-to-end ingest benchmark compares against mtail (bench/ingest_bench.sh)
  mtail
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "ci/setup.sh: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Test-only JavaScript tools, pinned in package.json: ajv (Grafana dashboard schemas),
# kubernetes-models (Kubernetes and prometheus-operator schemas).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -f "$here/tests/package.json" && ! ( -d "$here/tests/node_modules/ajv" &&
  -d "$here/tests/node_modules/kubernetes-models" ) ]]; then
  (cd "$here/tests" && npm install --silent --no-audit --no-fund >/dev/null)
fi
