#!/usr/bin/env bash
# `npm run bench:scale`: the scale targets of issue #6, on Berth with filesystem storage.
#
#   1. Startup: time from spawning `node bin/berth.js serve` to the first 200 of GET /v2/ over a
#      store of SMALL and of SCALE repositories (3 starts each, median; target < 500 ms), and the
#      "index build time": from the spawn to the first correct catalog page from the middle.
#   2. Page times: first and middle page of GET /v2/_catalog?n=100 at SMALL vs SCALE repositories,
#      and of GET /v2/scale/tags-repo/tags/list?n=100 at SMALL vs SCALE tags (2 warm-up requests,
#      then PAGE_RUNS timed ones with curl, median ms), and the web UI's repository list (first
#      page, middle page, a search) and tag table. The page time should not grow with size.
#   3. Cost growth: push-images and pull-images (200 images of 3 × 256KiB layers, 16 workers)
#      against an empty store vs a store that already holds FILL images (target: within 20%).
#
# The stores are written straight into Distribution's layout by scripts/bench-scale-gen.mjs
# (pushing 100,000 repositories over HTTP would take an hour), once, and shared by 1 and 2; each
# registry of 3 starts over a fresh copy. Everything lives under a temp dir in /tmp (ext4), removed
# on exit with every process this script started. Each phase is bounded (timeout, curl --max-time,
# PHASE_TIMEOUT for polling loops).
#
# Results: one JSON line per measurement in $OUT/scale.jsonl (bench-report.mjs record), the
# summary in $OUT/scale.md (bench-report.mjs scale).
#
# Environment:
#   SCALE=100000      the large store's repositories, and tags of scale/tags-repo (10000 for a quick check)
#   SMALL=1000        the small store's repositories and tags
#   FILL=10000        images already in the store for the cost-growth runs
#   STARTS=3          starts per store for the startup time
#   PAGE_RUNS=20      timed requests per page
#   PASSES=2          cost-growth passes (each: empty and filled, push and pull)
#   COST_KINDS=berth  registries of the cost-growth runs ("berth reference" adds the reference,
#                     for information)
#   PHASE_TIMEOUT=300 seconds a generation step, regbench run or wait for the index may take
#   PHASES="startup pages cost"  which phases to run
#   OUT, BENCH_PORT, WORKERS, BUILD, REGBENCH, REFERENCE as for scripts/bench.sh
#
# Exit status: 0 when everything ran and every Berth run was clean, 1 otherwise, 2 on a setup problem.
set -euo pipefail

BENCH_NAME=bench-scale
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
GEN="$BENCH_ROOT/scripts/bench-scale-gen.mjs"
SCALE=${SCALE:-100000}
SMALL=${SMALL:-1000}
FILL=${FILL:-10000}
STARTS=${STARTS:-3}
PAGE_RUNS=${PAGE_RUNS:-20}
PASSES=${PASSES:-2}
COST_KINDS=${COST_KINDS:-berth}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-300}
PHASES=${PHASES:-startup pages cost}
WORKERS=${WORKERS:-}
OUT=${OUT:-/tmp/berth-bench-scale-$(date +%Y%m%d-%H%M%S)}

for v in SCALE SMALL FILL STARTS PAGE_RUNS PASSES PHASE_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
[[ $COST_KINDS == *reference* ]] && need_tools reference || need_tools
build_if_needed

# Names of the generated content. Catalog order: scale/r-000000 ... scale/r-NNNNNN, scale/tags-repo.
REPO_PREFIX=scale/r-
TAGS_REPO=scale/tags-repo
# The cost-growth flags: the same as bench.sh's push-images / pull-images.
COST_FLAGS="--count 200 --layers 3 --size 256KiB --shared-base 1 --concurrency 16 --timeout 5m --json"

mkdir -p "$OUT/raw" "$OUT/logs"
[[ ! -e $OUT/scale.jsonl ]] || die "$OUT/scale.jsonl already exists; choose another OUT"
RUNS="$OUT/scale.jsonl"
WORK=$(mktemp -d /tmp/berth-bench-scale.XXXXXX)

cleanup() {
  stop_regbench
  stop_registry
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench-scale: interrupted" >&2; exit 130' INT
trap 'echo "bench-scale: terminated" >&2; exit 143' TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }
pad6() { printf '%06d' "$1"; }
FAILED=0

# generate DIR REPOS TAGS: a store of REPOS repositories and TAGS tags in $TAGS_REPO.
generate() {
  local dir=$1 repos=$2 tags=$3 t0
  t0=$(now_ms)
  timeout "$PHASE_TIMEOUT" node "$GEN" repos "$dir" "$REPO_PREFIX" "$repos" || die "generating $repos repositories failed or took over ${PHASE_TIMEOUT}s"
  timeout "$PHASE_TIMEOUT" node "$GEN" tags "$dir" "$TAGS_REPO" "$tags" || die "generating $tags tags failed or took over ${PHASE_TIMEOUT}s"
  node "$REPORT" record "$RUNS" phase=generate status=ok "repos=$repos" "tags=$tags" "gen_ms=$(($(now_ms) - t0))" 2>/dev/null
}

# start_timed DIR LOG: starts Berth over DIR and polls GET /v2/ every 10 ms; STARTUP_MS = spawn to
# the first 200, SPAWN_MS = the spawn instant. Returns 1 (START_ERROR) when it fails to come up.
start_timed() {
  local dir=$1 log=$2 code deadline
  pick_port
  write_config "$WORK/config.yml" "$(filesystem_storage "$dir")"
  registry_cmd berth "$WORK/config.yml"
  SPAWN_MS=$(now_ms)
  "${ENV_CLEAN[@]}" "${REG_CMD[@]}" >"$log" 2>&1 &
  REG_PID=$!
  deadline=$((SPAWN_MS + 30000))
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$HOST:$PORT/v2/" || true)
    if [[ $code == 200 ]]; then STARTUP_MS=$(($(now_ms) - SPAWN_MS)); return 0; fi
    if ! kill -0 "$REG_PID" 2>/dev/null; then START_ERROR="Berth exited at start (see $log)"; REG_PID=''; return 1; fi
    if (($(now_ms) > deadline)); then START_ERROR="Berth did not answer /v2/ within 30 s"; stop_registry; return 1; fi
    sleep 0.01
  done
}

# wait_index N: polls the catalog page after the middle repository until it is right (the next
# name is there); INDEX_MS = spawn to that answer. A registry that builds an index in the
# background may answer before it is complete; the timings below start only after this.
wait_index() {
  local n=$1 last next body deadline
  last="$REPO_PREFIX$(pad6 $((n / 2)))" next="$REPO_PREFIX$(pad6 $((n / 2 + 1)))"
  deadline=$(($(now_ms) + PHASE_TIMEOUT * 1000))
  while (($(now_ms) < deadline)); do
    body=$(curl -s --fail --max-time 60 "http://$HOST:$PORT/v2/_catalog?n=100&last=$last" || true)
    if [[ $body == *"\"$next\""* ]]; then INDEX_MS=$(($(now_ms) - SPAWN_MS)); return 0; fi
    sleep 0.05
  done
  START_ERROR="the catalog page after $last did not list $next within ${PHASE_TIMEOUT}s"
  return 1
}

# time_page WHAT SIZE PATH PATTERN: 2 warm-up GETs of PATH, then PAGE_RUNS timed ones; records
# the median, min and max ms and the entries of the answer (names matching PATTERN: n=100 honoured?).
time_page() {
  local what=$1 size=$2 urlpath=$3 pattern=$4 url="http://$HOST:$PORT$3" times=() t entries code
  for _ in 1 2; do curl -s -o /dev/null --max-time 60 "$url" || true; done
  code=$(curl -s -o "$WORK/page.json" -w '%{http_code}' --max-time 60 "$url" || true)
  entries=$(grep -o "\"$pattern[^\"]*\"" "$WORK/page.json" | wc -l || true)
  for _ in $(seq 1 "$PAGE_RUNS"); do
    t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 60 "$url" || echo 60)
    times+=("$t")
  done
  local stats
  stats=$(printf '%s\n' "${times[@]}" | sort -g | awk '{v[NR] = $1 * 1000} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f %.2f", m, v[1], v[NR]}')
  read -r med min max <<<"$stats"
  local status=ok
  [[ $code == 200 ]] || { status=failed; FAILED=1; }
  node "$REPORT" record "$RUNS" phase=page status=$status "what=$what" "size=$size" "path=$urlpath" "http_code=$code" \
    "entries=$entries" "median_ms=$med" "min_ms=$min" "max_ms=$max" "runs=$PAGE_RUNS" 2>/dev/null
  say "  $what at $size: median $med ms [$min–$max], $entries entries, HTTP $code"
}

# measure_store DIR N: STARTS timed starts of Berth over DIR (the same directory each time, so a
# later start may find what an earlier one wrote, e.g. an index), then the page times.
measure_store() {
  local dir=$1 n=$2 run
  for run in $(seq 1 "$STARTS"); do
    if ! start_timed "$dir" "$OUT/logs/startup-$n-$run.log"; then
      node "$REPORT" record "$RUNS" phase=startup status=failed "size=$n" "run=$run" "reason=$START_ERROR" 2>/dev/null
      say "startup over $n repositories, run $run: $START_ERROR"
      FAILED=1
      continue
    fi
    local index_status=ok
    wait_index "$n" || { index_status=failed; FAILED=1; INDEX_MS=''; say "$START_ERROR"; }
    tree_usage "$REG_PID" || true
    node "$REPORT" record "$RUNS" phase=startup status=$index_status "size=$n" "run=$run" "startup_ms=$STARTUP_MS" \
      "index_ms=$INDEX_MS" "rss_after_index_kib=$RSS" 2>/dev/null
    say "startup over $n repositories, run $run: /v2/ after $STARTUP_MS ms, middle catalog page right after ${INDEX_MS:-?} ms, RSS $((${RSS:-0} / 1024)) MiB"
    if [[ $run == "$STARTS" && " $PHASES " == *" pages "* && $index_status == ok ]]; then
      time_page catalog-first "$n" "/v2/_catalog?n=100" "$REPO_PREFIX"
      time_page catalog-middle "$n" "/v2/_catalog?n=100&last=$REPO_PREFIX$(pad6 $((n / 2)))" "$REPO_PREFIX"
      time_page tags-first "$n" "/v2/$TAGS_REPO/tags/list?n=100" "tag-"
      time_page tags-middle "$n" "/v2/$TAGS_REPO/tags/list?n=100&last=tag-$(pad6 $((n / 2)))" "tag-"
      # The web UI's pages: its repository list (tag count and last push per entry), a search,
      # and its tag table (a summary of each tag's image).
      time_page ui-repositories-first "$n" "/berth/v1/repositories?n=50" "$REPO_PREFIX"
      time_page ui-repositories-middle "$n" "/berth/v1/repositories?n=50&last=$REPO_PREFIX$(pad6 $((n / 2)))" "$REPO_PREFIX"
      time_page ui-repositories-search "$n" "/berth/v1/repositories?n=50&q=r-$(pad6 $((n / 2)) | cut -c1-3)" "$REPO_PREFIX"
      time_page ui-tags-first "$n" "/berth/v1/repositories/$TAGS_REPO/_tags?n=100" "tag-"
    fi
    stop_registry
  done
}

# cost_run PASS KIND STORE SCENARIO: a fresh registry over an empty store or a copy of the filled
# one, then one regbench run.
cost_run() {
  local pass=$1 kind=$2 store=$3 scenario=$4 tag="p$1-$2-$3-$4"
  local stdout="$OUT/raw/$tag.json" stderr="$OUT/logs/$tag.regbench.log" reglog="$OUT/logs/$tag.registry.log"
  local meta=(phase=cost "pass=$pass" "kind=$kind" "id=$scenario-$store" "store=$store" "scenario=$scenario" "flags=$scenario $COST_FLAGS")
  rm -rf "$WORK/data"
  if [[ $store == filled ]]; then cp -a "$WORK/fill" "$WORK/data"; else mkdir -p "$WORK/data"; fi
  pick_port
  write_config "$WORK/config.yml" "$(filesystem_storage "$WORK/data")"
  registry_cmd "$kind" "$WORK/config.yml"
  if ! start_server "$reglog" "http://$HOST:$PORT/v2/" "${REG_CMD[@]}"; then
    node "$REPORT" record "$RUNS" "${meta[@]}" status=failed "reason=$START_ERROR" "reglog=$reglog"
    [[ $kind == berth ]] && FAILED=1
    return 0
  fi
  sync
  sleep 1
  echo "== pass $pass/$PASSES  $kind  $store store  $scenario" >&2
  local alive=true
  # shellcheck disable=SC2086 # flags
  run_regbench "$PHASE_TIMEOUT" "$stdout" "$stderr" "$scenario" --url "http://$HOST:$PORT" $COST_FLAGS
  tree_usage "$REG_PID" || alive=false
  stop_registry
  [[ $RUN_RC == 0 || $kind != berth ]] || FAILED=1
  node "$REPORT" record "$RUNS" "${meta[@]}" "exit=$RUN_RC" "timed_out=$RUN_TIMED_OUT" "registry_alive=$alive" \
    "rss_peak_kib=$HWM" "rss_end_kib=$RSS" "cpu_s=$CPU" "wall_s=$RUN_WALL_S" \
    "stdout=$stdout" "stderr=$stderr" "reglog=$reglog"
}

node "$REPORT" meta "$OUT/meta.json" "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "cpus=$(nproc)" \
  "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "node=$(node --version)" \
  "berth_commit=$(git_commit)" "dist_stale=$DIST_STALE" "scale=$SCALE" "small=$SMALL" "fill=$FILL" \
  "starts=$STARTS" "page_runs=$PAGE_RUNS" "passes=$PASSES" "cost_flags=$COST_FLAGS" "phases=$PHASES" \
  "tmp_fs=$(df -T /tmp | awk 'NR == 2 {print $2 " on " $1}')" "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
say "results in $OUT (SCALE=$SCALE SMALL=$SMALL FILL=$FILL PHASES='$PHASES')"

if [[ " $PHASES " == *" startup "* || " $PHASES " == *" pages "* ]]; then
  for n in "$SMALL" "$SCALE"; do
    say "generating $n repositories and $n tags"
    generate "$WORK/store-$n" "$n" "$n"
    measure_store "$WORK/store-$n" "$n"
    # Not deleted here: removing 100,000 repositories' directories takes minutes of disk work,
    # which would disturb the next measurements; cleanup removes them at exit.
  done
fi

if [[ " $PHASES " == *" cost "* ]]; then
  say "generating $FILL images for the filled store"
  t0=$(now_ms)
  timeout "$PHASE_TIMEOUT" node "$GEN" images "$WORK/fill" bench/fill "$FILL" fill ||
    die "generating $FILL images failed or took over ${PHASE_TIMEOUT}s"
  node "$REPORT" record "$RUNS" phase=generate status=ok "images=$FILL" "gen_ms=$(($(now_ms) - t0))" 2>/dev/null
  for pass in $(seq 1 "$PASSES"); do
    # Alternate which store goes first, as bench.sh alternates the registries.
    if ((pass % 2)); then stores=(empty filled); else stores=(filled empty); fi
    for scenario in push-images pull-images; do
      for kind in $COST_KINDS; do
        for store in "${stores[@]}"; do cost_run "$pass" "$kind" "$store" "$scenario"; done
      done
    done
  done
fi
node "$REPORT" meta "$OUT/meta.json" "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"

set +e
node "$REPORT" scale "$OUT" >"$OUT/scale.md"
status=$?
set -e
cat "$OUT/scale.md"
say "raw results in $OUT"
((FAILED)) && exit 1
exit "$status"
