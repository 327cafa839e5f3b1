#!/usr/bin/env bash
# `npm test`: installs what the tests need when missing, checks lint and types, starts the local
# servers the tests talk to (scripts/services/*-up.sh: object stores, redis, ...), then runs
# every test (unit, HTTP-level, end-to-end with real clients) in one node:test run, so the
# closing summary counts them all. The servers are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
npm run --silent lint

# Each service script gets its own work folder and writes `export NAME=value` lines to
# $dir/env for the tests (endpoints, credentials); a test needing a service reads them.
services_dir=$(mktemp -d /tmp/berth-test-services.XXXXXX)
stop_services() {
  for down in scripts/services/*-down.sh; do
    [ -e "$down" ] || continue
    name=$(basename "$down" -down.sh)
    bash "$down" "$services_dir/$name" >/dev/null 2>&1 || true
  done
  rm -rf "$services_dir"
}
trap stop_services EXIT
for up in scripts/services/*-up.sh; do
  [ -e "$up" ] || continue
  name=$(basename "$up" -up.sh)
  mkdir -p "$services_dir/$name"
  echo "test: starting $name"
  if ! bash "$up" "$services_dir/$name" > "$services_dir/$name/up.log" 2>&1; then
    echo "test: could not start $name:" >&2
    tail -n 30 "$services_dir/$name/up.log" >&2
    exit 1
  fi
  # shellcheck disable=SC1091
  [ -f "$services_dir/$name/env" ] && source "$services_dir/$name/env"
done

mapfile -t files < <(find src test -name '*.test.ts' | sort)
node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "${files[@]}"
