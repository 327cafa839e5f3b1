#!/usr/bin/env bash
# The garbage-collection soak (test/e2e/gc-soak.test.ts) at a larger size, for figures: images
# pushed and deleted, blobs collected, bytes freed, clean MANIFEST_BLOB_UNKNOWN failures, errors.
# Runs on the filesystem, and on S3 too when BERTH_TEST_S3_* are set (then S3 must work).
#
# Environment:
#   SOAK_SCALE=10        times the CI size (300 images, 30 s of pushing, per unit)
#   SOAK_COLLECTOR=berth `berth garbage-collect --online --delete-untagged` in a loop; `local` for
#                        the protocol's collector half in test/e2e/support/gc-collector.ts
#   SOAK_REPORT=FILE     where the figures go, one JSON line per backend
#                        (default /tmp/berth-gc-soak-DATE.jsonl)
# Exit status: that of the test (0 when every image pulled, no old garbage was left, no errors).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export SOAK_SCALE=${SOAK_SCALE:-10}
export SOAK_COLLECTOR=${SOAK_COLLECTOR:-berth}
export SOAK_REPORT=${SOAK_REPORT:-/tmp/berth-gc-soak-$(date +%Y%m%d-%H%M%S).jsonl}
[[ $SOAK_SCALE =~ ^[1-9][0-9]*$ ]] || { echo "gc-soak: SOAK_SCALE must be a positive integer" >&2; exit 2; }
npm run --silent build
status=0
node --import tsx --test --test-reporter=spec --test-timeout=$((600000 * SOAK_SCALE)) test/e2e/gc-soak.test.ts || status=$?
echo "gc-soak: figures in $SOAK_REPORT"
cat "$SOAK_REPORT" 2>/dev/null || true
exit $status
