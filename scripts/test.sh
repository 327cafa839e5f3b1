#!/usr/bin/env bash
# `npm test`: installs what the tests need when missing, checks lint and types, then runs every
# test (unit, HTTP-level, end-to-end with real clients) in one node:test run, so the closing
# summary counts them all.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
npm run --silent lint

mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "${files[@]}"
