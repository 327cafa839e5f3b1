#!/usr/bin/env bash
# `npm run bench`: Berth against the reference registry (CNCF Distribution, /usr/bin/docker-registry),
# both on filesystem storage, measured with regbench in one run. See BENCHMARKS.md.
#
# For each pass and each scenario, each registry kind in turn (the first kind alternates between
# passes): wipe the data directory, start a fresh registry on 127.0.0.1, `sync; sleep 1`, run
# regbench with --json and the SAME flags for both, read the registry's peak RSS (VmHWM) and CPU
# time, stop it. One JSON line per run goes to $OUT/runs.jsonl; scripts/bench-report.mjs turns
# them into a Markdown table ($OUT/report.md).
#
# Environment:
#   PASSES=2          passes (each runs every scenario on both registries)
#   QUICK=1           smoke run: small sizes, short durations (checks the script, not the figures)
#   STORAGE=s3        both registries on one S3 bucket of a local Ceph RADOS Gateway (started
#                     with scripts/services/ceph-up.sh, each run under its own prefix, cleaned
#                     after the run) instead of filesystem storage; blobs are 64MiB there
#   WORKERS=N         Berth's worker processes (http.workers; default: its own, the number of cores)
#   OUT=DIR           where runs.jsonl, meta.json, report.md, raw/ and logs/ go
#                     (default /tmp/berth-bench-DATE)
#   ONLY="id ..."     run only these scenario ids (push-mono push-chunked push-post pull-blob
#                     push-images pull-images manifest-get)
#   BENCH_PORT=15401  first port tried (the next free one is used if it is taken)
#   RUN_TIMEOUT=900   seconds one regbench run may take before it is killed (QUICK: 120)
#   BUILD=1           run `npm run build` first (it also runs when dist/ is missing; the script
#                     warns when src/ is newer than dist/)
#   REGBENCH, REFERENCE   paths of the load tool and of the reference registry binary
#
# Exit status: 0 when every Berth run was clean, 1 when any Berth run had errors (or failed,
# timed out, or its registry died), 2 on a setup problem. Runs of the reference with errors
# are reported but do not fail the script.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPORT="$ROOT/scripts/bench-report.mjs"
PASSES=${PASSES:-2}
QUICK=${QUICK:-0}
STORAGE=${STORAGE:-filesystem}
WORKERS=${WORKERS:-}
ONLY=${ONLY:-}
BENCH_PORT=${BENCH_PORT:-15401}
REGBENCH=${REGBENCH:-$ROOT/../shared/bench/regbench}
REFERENCE=${REFERENCE:-/usr/bin/docker-registry}
OUT=${OUT:-/tmp/berth-bench-$(date +%Y%m%d-%H%M%S)}
HOST=127.0.0.1

die() { echo "bench: $*" >&2; exit 2; }

[[ $PASSES =~ ^[1-9][0-9]*$ ]] || die "PASSES must be a positive integer, not '$PASSES'"
[[ $QUICK == 0 || $QUICK == 1 ]] || die "QUICK must be 0 or 1, not '$QUICK'"
[[ $STORAGE == filesystem || $STORAGE == s3 ]] || die "STORAGE must be filesystem or s3, not '$STORAGE'"
[[ -z $WORKERS || $WORKERS =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive integer"
[[ -x $REGBENCH ]] || REGBENCH=$(command -v regbench || true)
[[ -n $REGBENCH && -x $REGBENCH ]] || die "regbench not found (set REGBENCH=/path/to/regbench)"
[[ -x $REFERENCE ]] || die "reference registry $REFERENCE not found (set REFERENCE=...)"
command -v curl >/dev/null || die "curl is needed to wait for the registries"
command -v timeout >/dev/null || die "timeout (coreutils) is needed"

if [[ ${BUILD:-0} == 1 || ! -f $ROOT/dist/cli/main.js ]]; then
  echo "bench: building dist/" >&2
  (cd "$ROOT" && npm run --silent build)
fi
DIST_STALE=false
if [[ -n $(find "$ROOT/src" -name '*.ts' ! -name '*.test.ts' -newer "$ROOT/dist/cli/main.js" -print -quit) ]]; then
  DIST_STALE=true
  echo "bench: WARNING: src/ has files newer than dist/; run 'npm run build' to benchmark the current source" >&2
fi

# Sizes and durations. The flags are the same for both registries.
if [[ $QUICK == 1 ]]; then
  BLOB=16MiB CHUNK=4MiB BLOBS=2 IMAGES=32 LAYER=64KiB DURATION=2s
  RUN_TIMEOUT=${RUN_TIMEOUT:-120} REQUEST_TIMEOUT=60s
else
  BLOB=256MiB CHUNK=8MiB BLOBS=3 IMAGES=200 LAYER=256KiB DURATION=10s
  RUN_TIMEOUT=${RUN_TIMEOUT:-900} REQUEST_TIMEOUT=5m
  # Ceph's in-memory store holds a few GiB: smaller blobs keep a run well inside it.
  if [[ $STORAGE == s3 ]]; then BLOB=64MiB; fi
fi
[[ $RUN_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "RUN_TIMEOUT must be a number of seconds"
COMMON_FLAGS="--timeout $REQUEST_TIMEOUT --json"

# id | kinds | regbench scenario and flags
SCENARIOS=(
  "push-mono|both|push-blob --size $BLOB --mode monolithic --count $BLOBS"
  "push-chunked|both|push-blob --size $BLOB --mode chunked --chunk $CHUNK --count $BLOBS"
  "push-post|berth|push-blob --size $BLOB --mode post --count $BLOBS"
  "pull-blob|both|pull-blob --size $BLOB --count $BLOBS"
  "push-images|both|push-images --count $IMAGES --layers 3 --size $LAYER --shared-base 1 --concurrency 16"
  "pull-images|both|pull-images --count $IMAGES --layers 3 --size $LAYER --shared-base 1 --concurrency 16"
  "manifest-get|both|manifest-get --concurrency 32 --duration $DURATION"
)

for id in $ONLY; do
  printf '%s\n' "${SCENARIOS[@]}" | grep -q "^$id|" || die "ONLY: unknown scenario id '$id'"
done

mkdir -p "$OUT/raw" "$OUT/logs"
[[ ! -e $OUT/runs.jsonl ]] || die "$OUT/runs.jsonl already exists; choose another OUT"
RUNS="$OUT/runs.jsonl"
WORK=$(mktemp -d /tmp/berth-bench-work.XXXXXX)
REG_PID=''
BENCH_PID=''
PORT=''
START_ERROR=''
CLK_TCK=$(getconf CLK_TCK)

# The registries must see only their config file: drop REGISTRY_* overrides from the environment.
ENV_CLEAN=(env)
while read -r name; do ENV_CLEAN+=(-u "$name"); done < <(compgen -e | grep '^REGISTRY_' || true)

stop_registry() {
  local pid=$REG_PID
  [[ -n $pid ]] || return 0
  REG_PID=''
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  if [[ -n $BENCH_PID ]]; then
    kill -TERM "$BENCH_PID" 2>/dev/null || true
    wait "$BENCH_PID" 2>/dev/null || true
    BENCH_PID=''
  fi
  stop_registry
  if [[ $STORAGE == s3 && -d $WORK/ceph ]]; then bash "$ROOT/scripts/services/ceph-down.sh" "$WORK/ceph" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

pick_port() {
  local p=$BENCH_PORT
  for _ in $(seq 1 50); do
    if ! port_in_use "$p"; then PORT=$p; return 0; fi
    p=$((p + 1))
  done
  die "no free port in $BENCH_PORT..$p on $HOST"
}

# The storage section of both registries' config: a fresh place for each run.
storage_config() {
  local tag=$1
  if [[ $STORAGE == s3 ]]; then
    printf '  s3:\n'
    printf '    %s: %s\n' regionendpoint "$BERTH_TEST_S3_ENDPOINT" bucket "$BERTH_TEST_S3_BUCKET" \
      accesskey "$BERTH_TEST_S3_ACCESS_KEY" secretkey "$BERTH_TEST_S3_SECRET_KEY" \
      region "${BERTH_TEST_S3_REGION:-us-east-1}" forcepathstyle true secure false rootdirectory "/bench/$tag"
  else
    printf '  filesystem:\n    rootdirectory: %s\n' "$WORK/data"
  fi
}

# start_registry KIND LOGFILE TAG: a fresh registry on $HOST:$PORT over empty storage.
start_registry() {
  local kind=$1 log=$2 tag=$3
  rm -rf "$WORK/data"
  mkdir -p "$WORK/data"
  pick_port
  cat >"$WORK/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
$(storage_config "$tag")
  delete:
    enabled: true
http:
  addr: $HOST:$PORT
EOF
  local cmd
  case $kind in
    berth) cmd=(node "$ROOT/bin/berth.js" serve ${WORKERS:+--workers "$WORKERS"} "$WORK/config.yml") ;;
    # The reference's S3 driver panics when AWS_CA_BUNDLE is set (shared/objstore/README.md).
    reference) cmd=(env -u AWS_CA_BUNDLE "$REFERENCE" serve "$WORK/config.yml") ;;
  esac
  "${ENV_CLEAN[@]}" "${cmd[@]}" >"$log" 2>&1 &
  REG_PID=$!
  local code
  for _ in $(seq 1 300); do
    if ! kill -0 "$REG_PID" 2>/dev/null; then
      START_ERROR="registry exited at start"
      echo "bench: $kind $START_ERROR (see $log)" >&2
      wait "$REG_PID" 2>/dev/null || true
      REG_PID=''
      return 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HOST:$PORT/v2/" || true)
    [[ $code == 200 || $code == 401 ]] && return 0
    sleep 0.1
  done
  START_ERROR="registry did not answer /v2/ within 30 s"
  echo "bench: $kind $START_ERROR (see $log)" >&2
  stop_registry
  return 1
}

# run_one PASS KIND ID SPEC
run_one() {
  local pass=$1 kind=$2 id=$3 spec=$4
  local scenario=${spec%% *}
  local tag="p$pass-$id-$kind"
  local stdout="$OUT/raw/$tag.json" stderr="$OUT/logs/$tag.regbench.log" reglog="$OUT/logs/$tag.registry.log"
  local meta=("pass=$pass" "kind=$kind" "id=$id" "scenario=$scenario" "flags=$spec")
  echo "== pass $pass/$PASSES  $kind  $spec" >&2
  if ! start_registry "$kind" "$reglog" "$tag"; then
    node "$REPORT" record "$RUNS" "${meta[@]}" status=failed "reason=$START_ERROR" "reglog=$reglog"
    return 0
  fi
  sync
  sleep 1
  local t0 t1 rc
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086 # $spec is the scenario followed by its flags
  timeout --kill-after=10 "$RUN_TIMEOUT" "$REGBENCH" $spec --url "http://$HOST:$PORT" $COMMON_FLAGS \
    >"$stdout" 2>"$stderr" &
  BENCH_PID=$!
  set +e
  wait "$BENCH_PID"
  rc=$?
  set -e
  BENCH_PID=''
  t1=$(date +%s.%N)
  local alive=true hwm='' rss='' cpu=''
  if [[ -r /proc/$REG_PID/status ]] && kill -0 "$REG_PID" 2>/dev/null; then
    # The registry with its worker processes: memory as the sum of each process's peak (an upper
    # bound of the peak of all together), CPU time of all of them.
    local pids=("$REG_PID")
    mapfile -t -O 1 pids < <(pgrep -P "$REG_PID" || true)
    local status_files=("${pids[@]/#//proc/}") stat_files
    status_files=("${status_files[@]/%//status}")
    stat_files=("${status_files[@]/%status/stat}")
    hwm=$(awk '/^VmHWM:/ {s += $2} END {print s}' "${status_files[@]}" 2>/dev/null)
    rss=$(awk '/^VmRSS:/ {s += $2} END {print s}' "${status_files[@]}" 2>/dev/null)
    # utime and stime are fields 14 and 15 of /proc/PID/stat; the command name (field 2) has no spaces here
    cpu=$(awk -v hz="$CLK_TCK" '{s += $14 + $15} END {printf "%.2f", s / hz}' "${stat_files[@]}" 2>/dev/null)
  else
    alive=false
  fi
  stop_registry
  if [[ $STORAGE == s3 ]]; then node "$ROOT/scripts/bench-s3-clean.mjs" "bench/$tag" >>"$reglog" 2>&1 || true; fi
  local timed_out=false
  [[ $rc == 124 || $rc == 137 ]] && timed_out=true
  node "$REPORT" record "$RUNS" "${meta[@]}" "exit=$rc" "timed_out=$timed_out" "registry_alive=$alive" \
    "rss_peak_kib=$hwm" "rss_end_kib=$rss" "cpu_s=$cpu" "wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')" \
    "stdout=$stdout" "stderr=$stderr" "reglog=$reglog"
}

selected() { [[ -z $ONLY ]] || [[ " $ONLY " == *" $1 "* ]]; }

git_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain -- src 2>/dev/null) ]] || git_commit="$git_commit+dirty"
node "$REPORT" meta "$OUT/meta.json" "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "quick=$([[ $QUICK == 1 ]] && echo true || echo false)" \
  "passes=$PASSES" "cpus=$(nproc)" "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
  "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)" "node=$(node --version)" "berth_commit=$git_commit" \
  "dist_stale=$DIST_STALE" "reference_version=$("$REFERENCE" --version 2>&1 | head -1)" \
  "regbench_sha256=$(sha256sum "$REGBENCH" | cut -d' ' -f1)" "common_flags=$COMMON_FLAGS" \
  "run_timeout_s=$RUN_TIMEOUT" "tmp_fs=$(df -T /tmp | awk 'NR == 2 {print $2 " on " $1}')"

if [[ $STORAGE == s3 ]]; then
  echo "bench: starting a local Ceph RADOS Gateway" >&2
  mkdir -p "$WORK/ceph"
  bash "$ROOT/scripts/services/ceph-up.sh" "$WORK/ceph" >"$OUT/logs/ceph-up.log" 2>&1 || die "ceph did not start (see $OUT/logs/ceph-up.log)"
  # shellcheck disable=SC1091
  source "$WORK/ceph/env"
  node "$REPORT" meta "$OUT/meta.json" "storage=s3 (local Ceph RADOS Gateway on memstore; one bucket, a prefix per run)"
fi
echo "bench: results in $OUT (STORAGE=$STORAGE QUICK=$QUICK PASSES=$PASSES, each run at most ${RUN_TIMEOUT}s)" >&2
for pass in $(seq 1 "$PASSES"); do
  if ((pass % 2)); then order=(reference berth); else order=(berth reference); fi
  for entry in "${SCENARIOS[@]}"; do
    IFS='|' read -r id kinds spec <<<"$entry"
    selected "$id" || continue
    for kind in "${order[@]}"; do
      if [[ $kinds == both || $kinds == "$kind" ]]; then
        run_one "$pass" "$kind" "$id" "$spec"
      else
        # Not run: the reference has no single-POST upload (it answers 202 and opens a session).
        echo "== pass $pass/$PASSES  $kind  $spec: not run (unsupported)" >&2
        node "$REPORT" record "$RUNS" "pass=$pass" "kind=$kind" "id=$id" "scenario=${spec%% *}" "flags=$spec" \
          status=unsupported 2>/dev/null
      fi
    done
  done
done
node "$REPORT" meta "$OUT/meta.json" "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)"

set +e
node "$REPORT" "$OUT" >"$OUT/report.md"
status=$?
set -e
cat "$OUT/report.md"
echo "bench: raw results in $OUT" >&2
exit "$status"
