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
# `mixed` also samples the summed RSS of the registry and all its processes every 200 ms
# (rss_sampled_peak_kib: the peak of "all processes together"; the VmHWM sum is only an upper
# bound of it). `raw-get` pushes one blob (untimed, with curl), then GETs its URL without hashing;
# the same file is also served by nginx (sendfile on), the transport ceiling Berth is compared with.
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
#                     raw-get push-images pull-images manifest-get manifest-head list mixed)
#   BENCH_PORT=15401  first port tried (the next free one is used if it is taken)
#   RUN_TIMEOUT=900   seconds one regbench run may take before it is killed (QUICK: 120)
#   BUILD=1           run `npm run build` first (it also runs when dist/ is missing; the script
#                     warns when src/ is newer than dist/)
#   REGBENCH, REFERENCE, NGINX   paths of the load tool, of the reference registry binary and
#                     of nginx (raw-get; default /usr/sbin/nginx, its run is skipped when absent)
#
# Exit status: 0 when every Berth run was clean, 1 when any Berth run had errors (or failed,
# timed out, or its registry died), 2 on a setup problem. Runs of the reference with errors
# are reported but do not fail the script.
set -euo pipefail

BENCH_NAME=bench
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
ROOT=$BENCH_ROOT
PASSES=${PASSES:-2}
QUICK=${QUICK:-0}
STORAGE=${STORAGE:-filesystem}
WORKERS=${WORKERS:-}
ONLY=${ONLY:-}
NGINX=${NGINX:-/usr/sbin/nginx}
OUT=${OUT:-/tmp/berth-bench-$(date +%Y%m%d-%H%M%S)}

[[ $PASSES =~ ^[1-9][0-9]*$ ]] || die "PASSES must be a positive integer, not '$PASSES'"
[[ $QUICK == 0 || $QUICK == 1 ]] || die "QUICK must be 0 or 1, not '$QUICK'"
[[ $STORAGE == filesystem || $STORAGE == s3 ]] || die "STORAGE must be filesystem or s3, not '$STORAGE'"
[[ -z $WORKERS || $WORKERS =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive integer"
need_tools reference
build_if_needed

# Sizes and durations. The flags are the same for both registries.
if [[ $QUICK == 1 ]]; then
  BLOB=16MiB CHUNK=4MiB BLOBS=2 IMAGES=32 LAYER=64KiB DURATION=2s
  LIST_N=100 MIXED_DURATION=3s
  RUN_TIMEOUT=${RUN_TIMEOUT:-120} REQUEST_TIMEOUT=60s
else
  BLOB=256MiB CHUNK=8MiB BLOBS=3 IMAGES=200 LAYER=256KiB DURATION=10s
  LIST_N=2000 MIXED_DURATION=20s
  RUN_TIMEOUT=${RUN_TIMEOUT:-900} REQUEST_TIMEOUT=5m
  # Ceph's in-memory store holds a few GiB: smaller blobs keep a run well inside it.
  if [[ $STORAGE == s3 ]]; then BLOB=64MiB; fi
fi
[[ $RUN_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "RUN_TIMEOUT must be a number of seconds"
COMMON_FLAGS="--timeout $REQUEST_TIMEOUT --json"

# id | kinds | regbench scenario and flags. Kinds: both (reference and Berth), berth, or
# both+nginx (raw-get: nginx serving the same file as a third kind, after the two registries).
SCENARIOS=(
  "push-mono|both|push-blob --size $BLOB --mode monolithic --count $BLOBS"
  "push-chunked|both|push-blob --size $BLOB --mode chunked --chunk $CHUNK --count $BLOBS"
  "push-post|berth|push-blob --size $BLOB --mode post --count $BLOBS"
  "pull-blob|both|pull-blob --size $BLOB --count $BLOBS"
  "raw-get|both+nginx|raw-get --count 5"
  "push-images|both|push-images --count $IMAGES --layers 3 --size $LAYER --shared-base 1 --concurrency 16"
  "pull-images|both|pull-images --count $IMAGES --layers 3 --size $LAYER --shared-base 1 --concurrency 16"
  "manifest-get|both|manifest-get --concurrency 32 --duration $DURATION"
  "manifest-head|both|manifest-get --concurrency 32 --duration $DURATION --head"
  "list|both|list --repo bench/list --repos $LIST_N --tags $LIST_N"
  "mixed|both|mixed --repo bench/mixed --concurrency 16 --duration $MIXED_DURATION"
)
# The repository of raw-get's blob, and the sampling period of mixed's RSS (seconds).
RAW_REPO=bench/raw
MIXED_RSS_INTERVAL=0.2

for id in $ONLY; do
  printf '%s\n' "${SCENARIOS[@]}" | grep -q "^$id|" || die "ONLY: unknown scenario id '$id'"
done

mkdir -p "$OUT/raw" "$OUT/logs"
[[ ! -e $OUT/runs.jsonl ]] || die "$OUT/runs.jsonl already exists; choose another OUT"
RUNS="$OUT/runs.jsonl"
WORK=$(mktemp -d /tmp/berth-bench-work.XXXXXX)
RAW_FILE=''
RAW_DIGEST=''

cleanup() {
  stop_regbench
  stop_rss_sampler
  stop_registry
  if [[ $STORAGE == s3 && -d $WORK/ceph ]]; then bash "$ROOT/scripts/services/ceph-down.sh" "$WORK/ceph" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM

# The storage section of both registries' config: a fresh place for each run.
storage_config() {
  local tag=$1
  if [[ $STORAGE == s3 ]]; then
    printf '  s3:\n'
    printf '    %s: %s\n' regionendpoint "$BERTH_TEST_S3_ENDPOINT" bucket "$BERTH_TEST_S3_BUCKET" \
      accesskey "$BERTH_TEST_S3_ACCESS_KEY" secretkey "$BERTH_TEST_S3_SECRET_KEY" \
      region "${BERTH_TEST_S3_REGION:-us-east-1}" forcepathstyle true secure false rootdirectory "/bench/$tag"
  else
    filesystem_storage "$WORK/data"
  fi
}

# nginx_config DIR: a minimal nginx serving DIR/root (where raw-get's blob file is linked as
# blob.bin) on $HOST:$PORT, as BASELINE.md measured it: sendfile on, no access log, everything
# it writes (pid, error log, temp paths) under DIR.
nginx_config() {
  local dir=$1
  mkdir -p "$dir/root" "$dir/logs" "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log error;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
$(for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $dir/tmp/$t;"; done)
  server {
    listen $HOST:$PORT;
    root $dir/root;
  }
}
EOF
}

# start_registry KIND LOGFILE TAG: a fresh registry on $HOST:$PORT over empty storage (or, for
# KIND nginx, nginx serving raw-get's file).
start_registry() {
  local kind=$1 log=$2 tag=$3
  rm -rf "$WORK/data" "$WORK/nginx"
  mkdir -p "$WORK/data"
  pick_port
  if [[ $kind == nginx ]]; then
    nginx_config "$WORK/nginx"
    ln -s "$RAW_FILE" "$WORK/nginx/root/blob.bin"
    # nginx's worker drops root privileges: it must be able to reach the file (mktemp made WORK 0700).
    chmod o+x "$WORK"
    chmod o+rx "$WORK/nginx" "$WORK/nginx/root"
    chmod o+r "$RAW_FILE"
    start_server "$log" "http://$HOST:$PORT/blob.bin" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/logs/error.log" ||
      { START_ERROR="nginx: $START_ERROR"; say "$kind $START_ERROR (see $log)"; return 1; }
    return 0
  fi
  write_config "$WORK/config.yml" "$(storage_config "$tag")"
  registry_cmd "$kind" "$WORK/config.yml"
  start_server "$log" "http://$HOST:$PORT/v2/" "${REG_CMD[@]}" || { say "$kind $START_ERROR (see $log)"; return 1; }
}

# make_raw_file: raw-get's blob, random and generated once per bench run (the same bytes for
# the three servers); RAW_DIGEST its sha256 hex.
make_raw_file() {
  [[ -z $RAW_FILE ]] || return 0
  RAW_FILE="$WORK/raw-blob.bin"
  local size=${BLOB%MiB}
  [[ $size =~ ^[0-9]+$ ]] || die "raw-get: BLOB must be in MiB, not '$BLOB'"
  head -c "$((size * 1024 * 1024))" /dev/urandom >"$RAW_FILE"
  RAW_DIGEST=$(sha256sum "$RAW_FILE" | cut -d' ' -f1)
}

# push_raw_blob: pushes raw-get's blob to the running registry, monolithically (POST, then PUT
# of the whole file to the Location), untimed. regbench's pull-blob does not tell its digest,
# hence curl. Returns 1 with START_ERROR set when the registry refuses it.
push_raw_blob() {
  local base="http://$HOST:$PORT" location code
  location=$(curl -s -o /dev/null -w '%{http_code} %header{location}' --max-time 30 -X POST "$base/v2/$RAW_REPO/blobs/uploads/" || true)
  code=${location%% *}
  location=${location#* }
  if [[ $code != 202 || -z $location ]]; then START_ERROR="raw-get setup: POST upload answered $code"; return 1; fi
  [[ $location == http* ]] || location="$base$location"
  if [[ $location == *\?* ]]; then location="$location&"; else location="$location?"; fi
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 600 -T "$RAW_FILE" -H 'Content-Type: application/octet-stream' \
    "${location}digest=sha256:$RAW_DIGEST" || true)
  if [[ $code != 201 ]]; then START_ERROR="raw-get setup: PUT blob answered $code"; return 1; fi
}

# run_one PASS KIND ID SPEC
run_one() {
  local pass=$1 kind=$2 id=$3 spec=$4
  local scenario=${spec%% *}
  local tag="p$pass-$id-$kind"
  local stdout="$OUT/raw/$tag.json" stderr="$OUT/logs/$tag.regbench.log" reglog="$OUT/logs/$tag.registry.log"
  local meta=("pass=$pass" "kind=$kind" "id=$id" "scenario=$scenario" "flags=$spec")
  echo "== pass $pass/$PASSES  $kind  $spec" >&2
  if [[ $scenario == raw-get ]]; then
    make_raw_file
    meta+=("blob_digest=sha256:$RAW_DIGEST")
  fi
  if ! start_registry "$kind" "$reglog" "$tag" || { [[ $scenario == raw-get && $kind != nginx ]] && ! push_raw_blob; }; then
    stop_registry
    node "$REPORT" record "$RUNS" "${meta[@]}" status=failed "reason=$START_ERROR" "reglog=$reglog"
    return 0
  fi
  local url="http://$HOST:$PORT"
  if [[ $scenario == raw-get ]]; then
    # nginx serves the file itself; a registry had it pushed above.
    if [[ $kind == nginx ]]; then url="$url/blob.bin"; else url="$url/v2/$RAW_REPO/blobs/sha256:$RAW_DIGEST"; fi
  fi
  sync
  sleep 1
  local rss_csv=''
  if [[ $scenario == mixed ]]; then
    rss_csv="$OUT/raw/$tag.rss.csv"
    start_rss_sampler "$REG_PID" "$MIXED_RSS_INTERVAL" "$rss_csv"
  fi
  # shellcheck disable=SC2086 # $spec is the scenario followed by its flags
  run_regbench "$RUN_TIMEOUT" "$stdout" "$stderr" $spec --url "$url" $COMMON_FLAGS
  stop_rss_sampler
  local alive=true
  # The registry with its worker processes: memory as the sum of each process's peak (an upper
  # bound of the peak of all together), CPU time of all of them.
  tree_usage "$REG_PID" || alive=false
  stop_registry
  if [[ $STORAGE == s3 ]]; then node "$ROOT/scripts/bench-s3-clean.mjs" "bench/$tag" >>"$reglog" 2>&1 || true; fi
  node "$REPORT" record "$RUNS" "${meta[@]}" "exit=$RUN_RC" "timed_out=$RUN_TIMED_OUT" "registry_alive=$alive" \
    "rss_peak_kib=$HWM" "rss_end_kib=$RSS" "cpu_s=$CPU" "wall_s=$RUN_WALL_S" \
    ${rss_csv:+"rss_csv=$rss_csv"} "stdout=$stdout" "stderr=$stderr" "reglog=$reglog"
}

selected() { [[ -z $ONLY ]] || [[ " $ONLY " == *" $1 "* ]]; }

git_commit=$(git_commit)
node "$REPORT" meta "$OUT/meta.json" "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" "quick=$([[ $QUICK == 1 ]] && echo true || echo false)" \
  "passes=$PASSES" "cpus=$(nproc)" "cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
  "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)" "node=$(node --version)" "berth_commit=$git_commit" \
  "dist_stale=$DIST_STALE" "reference_version=$("$REFERENCE" --version 2>&1 | head -1)" \
  "regbench_sha256=$(sha256sum "$REGBENCH" | cut -d' ' -f1)" "common_flags=$COMMON_FLAGS" \
  "nginx_version=$("$NGINX" -v 2>&1 | head -1 || true)" "mixed_rss_interval_s=$MIXED_RSS_INTERVAL" \
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
    kinds_here=("${order[@]}")
    if [[ $kinds == both+nginx ]]; then
      # nginx is the ceiling raw-get is judged against; a missing nginx only skips its run.
      if [[ -x $NGINX ]]; then kinds_here+=(nginx); else say "raw-get: $NGINX not found, no nginx run"; fi
    fi
    for kind in "${kinds_here[@]}"; do
      if [[ $kinds == both* || $kinds == "$kind" || $kind == nginx ]]; then
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
