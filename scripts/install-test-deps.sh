#!/usr/bin/env bash
# Installs what the test suite needs on Debian 12 when it is missing: the real registry clients,
# the reference registry (docker-registry) and the npm dependencies. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker-registry skopeo podman buildah containerd runc docker.io busybox-static umoci jq curl apache2-utils openssl nginx-light redis-server radosgw ceph-mon ceph-osd uuid-runtime chromium nats-server)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-test-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/tsx ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if [ ! -f dist/cli/main.js ] || [ -n "$(find src -name '*.ts' -newer dist/cli/main.js -print -quit)" ]; then
  npm run build
fi
