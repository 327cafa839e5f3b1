#!/usr/bin/env bash
# A long run of the HTTP API fuzzer (test/http/fuzz.test.ts; CI runs a few thousand cases).
#   scripts/fuzz.sh [cases per seed] [seed ...]
# Defaults: 100000 cases, one random seed. Each seed is a separate run with its own registry;
# the figures (cases, statuses, failing cases with what to replay) are printed per seed.
# FUZZ_SECONDS caps each run (default 50 ms a case); FUZZ_AUTH_COUNT sets the credential cases.
# Replay one failing case: FUZZ_SEED=<seed> FUZZ_FIRST=<index> FUZZ_COUNT=1 \
#   node --import tsx --test test/http/fuzz.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-100000}
shift || true
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=($((RANDOM * 32768 + RANDOM)))

log=$(mktemp /tmp/berth-fuzz.XXXXXX)
trap 'rm -f "$log"' EXIT
status=0
for seed in "${seeds[@]}"; do
  echo "fuzz: seed $seed, $count cases"
  started=$(date +%s)
  rc=0
  FUZZ_SEED=$seed FUZZ_COUNT=$count node --import tsx --test --test-reporter=tap test/http/fuzz.test.ts > "$log" 2>&1 || rc=$?
  # The figures, and for each failing case what to replay (the request, the seed, its index).
  grep -E '^# (fuzz|  )|^not ok|^# (pass|fail) ' "$log" || true
  [ "$rc" -eq 0 ] || { status=1; echo "fuzz: seed $seed FAILED (exit $rc)"; }
  echo "fuzz: seed $seed took $(( $(date +%s) - started )) s"
done
exit $status
