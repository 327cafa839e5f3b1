#!/usr/bin/env bash
# `berth bench` against regbench (../shared/bench/regbench), both loading the reference registry
# (CNCF Distribution, /usr/bin/docker-registry) with the same scenario and flags, to show how
# close the two load tools measure. Each run gets a fresh registry on empty storage; the two
# tools alternate which goes first from one pass to the next.
#
# Environment:
#   PASSES=1            passes (each runs every scenario with both tools)
#   QUICK=1             smoke run: tiny counts and durations (checks the script, not the figures)
#   ONLY="id ..."       run only these ids: manifest-get manifest-head push-images pull-images
#   DURATION=10s        manifest-get / manifest-head duration (issue #6's flags: --concurrency 32)
#   IMAGES=100          push-images / pull-images --count (BASELINE.md used 200)
#   OUT=DIR             raw JSON and logs (default /tmp/berth-bench-compare-DATE)
#   RUN_TIMEOUT=600     seconds one run may take before it is killed
#   BERTH_BENCH="..."   the command that runs `berth bench` (default: `node bin/berth.js bench`
#                       when dist/ has it, else src/cli/bench.ts through tsx)
#   REGBENCH, REFERENCE, BENCH_PORT   as in scripts/bench.sh
#
# Prints one table per scenario: each figure from both tools and berth/regbench as a ratio.
# Exit status: 0 when every run was clean, 1 when a run had errors or failed, 2 on a setup problem.
set -euo pipefail

BENCH_NAME=bench-compare
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
ROOT=$BENCH_ROOT
PASSES=${PASSES:-1}
QUICK=${QUICK:-0}
ONLY=${ONLY:-}
OUT=${OUT:-/tmp/berth-bench-compare-$(date +%Y%m%d-%H%M%S)}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
if [[ $QUICK == 1 ]]; then
  DURATION=${DURATION:-2s} IMAGES=${IMAGES:-12}
else
  DURATION=${DURATION:-10s} IMAGES=${IMAGES:-100}
fi

[[ $PASSES =~ ^[1-9][0-9]*$ ]] || die "PASSES must be a positive integer, not '$PASSES'"
[[ $RUN_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "RUN_TIMEOUT must be a number of seconds"
need_tools reference

if [[ -n ${BERTH_BENCH:-} ]]; then
  read -r -a BERTH_CMD <<<"$BERTH_BENCH"
elif [[ -f $ROOT/dist/cli/bench.js ]] && node "$ROOT/bin/berth.js" bench --help >/dev/null 2>&1; then
  BERTH_CMD=(node "$ROOT/bin/berth.js" bench)
else
  say "dist/ has no bench command: running src/cli/bench.ts through tsx"
  BERTH_CMD=(node --import tsx --input-type=module -e
    "const { benchCommand } = await import('$ROOT/src/cli/bench.ts'); await benchCommand().parseAsync(process.argv.slice(1), { from: 'user' });")
fi

# id | scenario and flags, the same for both tools (the repository / prefix is added per tool).
SCENARIOS=(
  "manifest-get|manifest-get --concurrency 32 --duration $DURATION"
  "manifest-head|manifest-get --concurrency 32 --duration $DURATION --head"
  "push-images|push-images --count $IMAGES --layers 3 --size 256KiB --shared-base 1 --concurrency 16"
  "pull-images|pull-images --count $IMAGES --layers 3 --size 256KiB --shared-base 1 --concurrency 16"
)
for id in $ONLY; do
  printf '%s\n' "${SCENARIOS[@]}" | grep -q "^$id|" || die "ONLY: unknown id '$id'"
done

mkdir -p "$OUT/raw" "$OUT/logs"
WORK=$(mktemp -d /tmp/berth-bench-compare.XXXXXX)
cleanup() {
  stop_regbench
  stop_registry
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench-compare: interrupted" >&2; exit 130' INT
trap 'echo "bench-compare: terminated" >&2; exit 143' TERM

start_reference() {
  local log=$1
  rm -rf "$WORK/data"
  mkdir -p "$WORK/data"
  pick_port
  write_config "$WORK/config.yml" "$(filesystem_storage "$WORK/data")"
  registry_cmd reference "$WORK/config.yml"
  start_server "$log" "http://$HOST:$PORT/v2/" "${REG_CMD[@]}" || die "reference registry: $START_ERROR (see $log)"
}

# run_tool TOOL ID SPEC PASS: one run on a fresh reference registry; its JSON in $OUT/raw.
STATUS=0
run_tool() {
  local tool=$1 id=$2 spec=$3 pass=$4
  local tag="p$pass-$id-$tool"
  start_reference "$OUT/logs/$tag.registry.log"
  sync
  sleep 1
  echo "== pass $pass/$PASSES  $tool  $spec" >&2
  # shellcheck disable=SC2086 # $spec is the scenario followed by its flags
  if [[ $tool == regbench ]]; then
    run_regbench "$RUN_TIMEOUT" "$OUT/raw/$tag.json" "$OUT/logs/$tag.stderr.log" $spec --url "http://$HOST:$PORT" --repo "bench/$id" --json
  else
    local t0 t1
    t0=$(date +%s.%N)
    set +e
    timeout --kill-after=10 "$RUN_TIMEOUT" "${BERTH_CMD[@]}" $spec --registry "$HOST:$PORT" --insecure --prefix "bench/$id" --json \
      --report "$OUT/raw/$tag.html" >"$OUT/raw/$tag.json" 2>"$OUT/logs/$tag.stderr.log"
    RUN_RC=$?
    set -e
    t1=$(date +%s.%N)
    RUN_WALL_S=$(elapsed "$t0" "$t1")
  fi
  stop_registry
  if [[ $RUN_RC != 0 ]]; then
    say "$tool $id exited $RUN_RC (see $OUT/logs/$tag.stderr.log)"
    STATUS=1
  fi
}

selected() { [[ -z $ONLY ]] || [[ " $ONLY " == *" $1 "* ]]; }

echo "bench-compare: results in $OUT (QUICK=$QUICK PASSES=$PASSES)" >&2
for pass in $(seq 1 "$PASSES"); do
  if ((pass % 2)); then order=(regbench berth); else order=(berth regbench); fi
  for entry in "${SCENARIOS[@]}"; do
    IFS='|' read -r id spec <<<"$entry"
    selected "$id" || continue
    for tool in "${order[@]}"; do run_tool "$tool" "$id" "$spec" "$pass"; done
  done
done

# The table: medians over the passes of each figure, read from both tools' JSON.
node --input-type=module - "$OUT" "$PASSES" "${ONLY:-manifest-get manifest-head push-images pull-images}" <<'JS'
import { existsSync, readFileSync } from 'node:fs';
const [out, passes, only] = process.argv.slice(2);
// figure label | regbench JSON path | berth bench JSON path
const figures = {
  'manifest-get': [
    ['requests/s', 'rates.req_per_s', 'rates.requests_per_s'],
    ['GET manifest p50 ms', 'latency_ms.GET manifest.p50', 'requests.manifest-get.p50'],
    ['GET manifest p90 ms', 'latency_ms.GET manifest.p90', 'requests.manifest-get.p90'],
    ['GET manifest p99 ms', 'latency_ms.GET manifest.p99', 'requests.manifest-get.p99'],
  ],
  'manifest-head': [
    ['requests/s', 'rates.req_per_s', 'rates.requests_per_s'],
    ['HEAD manifest p50 ms', 'latency_ms.HEAD manifest.p50', 'requests.manifest-head.p50'],
    ['HEAD manifest p99 ms', 'latency_ms.HEAD manifest.p99', 'requests.manifest-head.p99'],
  ],
  'push-images': [
    ['images/s', 'rates.images_per_s', 'rates.images_per_s'],
    ['MB/s', 'rates.MB_per_s', 'rates.MB_per_s'],
    ['blobs uploaded', 'counts.blobs_uploaded', 'counts.blobs_uploaded'],
    ['HEAD blob p50 ms', 'latency_ms.HEAD blob.p50', 'requests.blob-head.p50'],
    ['POST upload p50 ms', 'latency_ms.POST upload.p50', 'requests.blob-upload-start.p50'],
    ['PUT blob p50 ms', 'latency_ms.PUT blob.p50', 'requests.blob-put.p50'],
    ['PUT manifest p50 ms', 'latency_ms.PUT manifest.p50', 'requests.manifest-put.p50'],
    ['whole image p50 ms', 'latency_ms.op push-image.p50', 'operations.image-push.p50'],
    ['whole image p99 ms', 'latency_ms.op push-image.p99', 'operations.image-push.p99'],
  ],
  'pull-images': [
    ['images/s', 'rates.images_per_s', 'rates.images_per_s'],
    ['MB/s', 'rates.MB_per_s', 'rates.MB_per_s'],
    ['GET manifest p50 ms', 'latency_ms.GET manifest.p50', 'requests.manifest-get.p50'],
    ['GET blob p50 ms', 'latency_ms.GET blob.p50', 'requests.blob-get.p50'],
    ['GET blob p99 ms', 'latency_ms.GET blob.p99', 'requests.blob-get.p99'],
    ['whole image p50 ms', 'latency_ms.op pull-image.p50', 'operations.image-pull.p50'],
  ],
};
// A path's segments are split on the first dots only: latency names contain spaces, not dots.
const pick = (doc, path) => {
  const [a, b, ...rest] = path.split('.');
  const value = rest.length ? doc?.[a]?.[b]?.[rest.join('.')] : doc?.[a]?.[b];
  return typeof value === 'number' ? value : undefined;
};
const median = (values) => {
  const v = values.filter((x) => x !== undefined).sort((x, y) => x - y);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : undefined;
};
const read = (file) => {
  if (!existsSync(file)) return undefined;
  try { return JSON.parse(readFileSync(file, 'utf8')); } catch { return undefined; }
};
const fmt = (x) => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(2));
for (const id of only.split(/\s+/).filter(Boolean)) {
  const runs = { regbench: [], berth: [] };
  for (let p = 1; p <= Number(passes); p++) for (const tool of Object.keys(runs)) runs[tool].push(read(`${out}/raw/p${p}-${id}-${tool}.json`));
  const errors = Object.fromEntries(Object.entries(runs).map(([tool, docs]) => [tool, docs.map((d) => (d === undefined ? 'failed' : tool === 'berth' ? d.errors.count : d.errors))]));
  const rows = [['figure', 'regbench', 'berth bench', 'berth/regbench']];
  for (const [label, r, b] of figures[id]) {
    const rv = median(runs.regbench.map((d) => pick(d, r)));
    const bv = median(runs.berth.map((d) => pick(d, b)));
    rows.push([label, fmt(rv), fmt(bv), rv && bv !== undefined ? `${(bv / rv).toFixed(2)}x` : '—']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  console.log(`\n## ${id}  (errors: regbench ${errors.regbench.join(',')}; berth bench ${errors.berth.join(',')})`);
  for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
}
JS
echo "bench-compare: raw results in $OUT" >&2
exit "$STATUS"
