#!/usr/bin/env bash
# `npm run bench:soak`: Berth under the CI-like mixed load for a long time, to see whether its
# memory grows (issue #6: peak resident memory of all Berth processes together ≤ 256 MiB, and no
# growth over the run).
#
# One fresh Berth (filesystem storage under /tmp), `regbench mixed --concurrency 16` for DURATION,
# the summed RSS of Berth's processes sampled every INTERVAL seconds into $OUT/rss.csv
# ("t_s,rss_kib", t from the start of regbench). bench-report.mjs sums it up: peak, RSS at 1 min, at
# the end, the slope over the second half (MiB/min), errors, ops/s; "no growth" = the end RSS
# within 10% of the RSS at 1 min. One JSON line in $OUT/soak.jsonl, the summary in $OUT/soak.md.
#
# Environment:
#   DURATION=600s     regbench's --duration (e.g. DURATION=60s for a short check)
#   INTERVAL=2        seconds between RSS samples
#   OUT, BENCH_PORT, WORKERS, BUILD, REGBENCH as for scripts/bench.sh
#
# Exit status: 0 clean run without growth, 1 errors, a crash, or growth, 2 on a setup problem.
set -euo pipefail

BENCH_NAME=bench-soak
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
DURATION=${DURATION:-600s}
INTERVAL=${INTERVAL:-2}
WORKERS=${WORKERS:-}
OUT=${OUT:-/tmp/berth-bench-soak-$(date +%Y%m%d-%H%M%S)}

[[ $DURATION =~ ^[1-9][0-9]*(s|m)$ ]] || die "DURATION must be like 600s or 10m, not '$DURATION'"
[[ $INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "INTERVAL must be a number of seconds"
need_tools
build_if_needed

# regbench gets the duration plus setup time; the run is killed well after it should have ended.
duration_s=${DURATION%?}
[[ $DURATION == *m ]] && duration_s=$((duration_s * 60))
RUN_TIMEOUT=$((duration_s + 300))
SPEC="mixed --repo bench/soak --concurrency 16 --duration $DURATION --timeout 5m --json"

mkdir -p "$OUT/logs"
[[ ! -e $OUT/soak.jsonl ]] || die "$OUT/soak.jsonl already exists; choose another OUT"
WORK=$(mktemp -d /tmp/berth-bench-soak.XXXXXX)

cleanup() {
  stop_regbench
  stop_rss_sampler
  stop_registry
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench-soak: interrupted" >&2; exit 130' INT
trap 'echo "bench-soak: terminated" >&2; exit 143' TERM

node "$REPORT" meta "$OUT/meta.json" "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "cpus=$(nproc)" \
  "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "node=$(node --version)" \
  "berth_commit=$(git_commit)" "dist_stale=$DIST_STALE" "interval_s=$INTERVAL" \
  "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$WORK/data"
pick_port
write_config "$WORK/config.yml" "$(filesystem_storage "$WORK/data")"
registry_cmd berth "$WORK/config.yml"
reglog="$OUT/logs/registry.log"
start_server "$reglog" "http://$HOST:$PORT/v2/" "${REG_CMD[@]}" || die "Berth: $START_ERROR (see $reglog)"
say "results in $OUT; $SPEC against Berth on port $PORT (pid $REG_PID), RSS every ${INTERVAL}s"

start_rss_sampler "$REG_PID" "$INTERVAL" "$OUT/rss.csv"
# shellcheck disable=SC2086 # the scenario and its flags
run_regbench "$RUN_TIMEOUT" "$OUT/regbench.json" "$OUT/logs/regbench.log" $SPEC --url "http://$HOST:$PORT"
stop_rss_sampler
alive=true
tree_usage "$REG_PID" || alive=false
stop_registry
node "$REPORT" record "$OUT/soak.jsonl" kind=berth id=soak scenario=mixed "flags=$SPEC" "exit=$RUN_RC" "timed_out=$RUN_TIMED_OUT" \
  "registry_alive=$alive" "rss_peak_kib=$HWM" "rss_end_kib=$RSS" "cpu_s=$CPU" "wall_s=$RUN_WALL_S" \
  "rss_csv=$OUT/rss.csv" "stdout=$OUT/regbench.json" "stderr=$OUT/logs/regbench.log" "reglog=$reglog"
node "$REPORT" meta "$OUT/meta.json" "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"

set +e
node "$REPORT" soak "$OUT" >"$OUT/soak.md"
status=$?
set -e
cat "$OUT/soak.md"
say "raw results in $OUT"
exit "$status"
