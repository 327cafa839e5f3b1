#!/usr/bin/env bash
# The crash-consistency soak (test/e2e/crash-soak.test.ts) at a larger size, for figures: kills
# survived (random, mid-blob, mid-manifest), pushes attempted and acknowledged, uploads resumed
# and restarted, bodies checked, images verified and lost, wrong-content responses, and the
# temporaries and upload sessions left before and after the cleanup.
#
# Environment:
#   CRASH_KILLS=40      SIGKILLs to deliver (each followed by a restart on the same storage)
#   CRASH_CLIENTS=4     pushers, and as many pullers
#   CRASH_SEED=N        repeats a run's kill schedule, kinds and sizes (default: random, printed)
#   CRASH_REPORT=FILE   where the figures go, one JSON line (default /tmp/berth-crash-soak-DATE.jsonl)
# Exit status: that of the test (0 when nothing acknowledged was lost, nothing served was wrong,
# and the cleanup left nothing behind).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CRASH_KILLS=${CRASH_KILLS:-40}
export CRASH_CLIENTS=${CRASH_CLIENTS:-4}
export CRASH_REPORT=${CRASH_REPORT:-/tmp/berth-crash-soak-$(date +%Y%m%d-%H%M%S).jsonl}
for name in CRASH_KILLS CRASH_CLIENTS; do
  [[ ${!name} =~ ^[1-9][0-9]*$ ]] || { echo "crash-soak: $name must be a positive integer" >&2; exit 2; }
done
npm run --silent build
status=0
node --import tsx --test --test-reporter=spec test/e2e/crash-soak.test.ts || status=$?
echo "crash-soak: figures in $CRASH_REPORT"
cat "$CRASH_REPORT" 2>/dev/null || true
exit $status
