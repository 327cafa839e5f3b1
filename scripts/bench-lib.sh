# shellcheck shell=bash
# Shared by scripts/bench.sh, bench-scale.sh and bench-soak.sh (sourced, not run): finding the
# tools, building dist/, free ports, the registry config, starting and stopping a server,
# and measuring the memory and CPU of a server with all its descendant processes.
#
# The sourcing script sets BENCH_NAME (the prefix of its messages) before sourcing, and reads
# REG_PID, PORT, START_ERROR and DIST_STALE that these functions set.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPORT="$BENCH_ROOT/scripts/bench-report.mjs"
HOST=127.0.0.1
BENCH_PORT=${BENCH_PORT:-15401}
REGBENCH=${REGBENCH:-$BENCH_ROOT/../shared/bench/regbench}
REFERENCE=${REFERENCE:-/usr/bin/docker-registry}
REG_PID=''
PORT=''
START_ERROR=''
DIST_STALE=false
CLK_TCK=$(getconf CLK_TCK)

die() { echo "${BENCH_NAME:-bench}: $*" >&2; exit 2; }
say() { echo "${BENCH_NAME:-bench}: $*" >&2; }

# need_tools [reference]: regbench, curl, timeout, ps; the reference registry when asked.
need_tools() {
  [[ -x $REGBENCH ]] || REGBENCH=$(command -v regbench || true)
  [[ -n $REGBENCH && -x $REGBENCH ]] || die "regbench not found (set REGBENCH=/path/to/regbench)"
  if [[ ${1:-} == reference ]]; then [[ -x $REFERENCE ]] || die "reference registry $REFERENCE not found (set REFERENCE=...)"; fi
  command -v curl >/dev/null || die "curl is needed to wait for the registries"
  command -v timeout >/dev/null || die "timeout (coreutils) is needed"
  command -v ps >/dev/null || die "ps (procps) is needed to measure memory"
}

# Builds dist/ when BUILD=1 or when it is missing; warns (DIST_STALE=true) when src/ is newer.
build_if_needed() {
  if [[ ${BUILD:-0} == 1 || ! -f $BENCH_ROOT/dist/cli/main.js ]]; then
    say "building dist/"
    (cd "$BENCH_ROOT" && npm run --silent build)
  fi
  DIST_STALE=false
  if [[ -n $(find "$BENCH_ROOT/src" -name '*.ts' ! -name '*.test.ts' -newer "$BENCH_ROOT/dist/cli/main.js" -print -quit) ]]; then
    DIST_STALE=true
    say "WARNING: src/ has files newer than dist/; run 'npm run build' to benchmark the current source"
  fi
}

# The registries must see only their config file: drop REGISTRY_* overrides from the environment.
ENV_CLEAN=(env)
while read -r name; do ENV_CLEAN+=(-u "$name"); done < <(compgen -e | grep '^REGISTRY_' || true)

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# pick_port: PORT = the first free port from BENCH_PORT on.
pick_port() {
  local p=$BENCH_PORT
  for _ in $(seq 1 50); do
    if ! port_in_use "$p"; then PORT=$p; return 0; fi
    p=$((p + 1))
  done
  die "no free port in $BENCH_PORT..$p on $HOST"
}

# write_config FILE STORAGE_YAML: the config both registries read (same keys as BASELINE.md),
# listening on $HOST:$PORT. STORAGE_YAML is the indented body of the `storage:` section.
write_config() {
  cat >"$1" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
$2
  delete:
    enabled: true
http:
  addr: $HOST:$PORT
EOF
}

filesystem_storage() { printf '  filesystem:\n    rootdirectory: %s\n' "$1"; }

# registry_cmd KIND CONFIG: REG_CMD = the command line of a registry of that kind.
registry_cmd() {
  case $1 in
    berth) REG_CMD=(node "$BENCH_ROOT/bin/berth.js" serve ${WORKERS:+--workers "$WORKERS"} "$2") ;;
    # The reference's S3 driver panics when AWS_CA_BUNDLE is set (shared/objstore/README.md).
    reference) REG_CMD=(env -u AWS_CA_BUNDLE "$REFERENCE" serve "$2") ;;
    *) die "unknown registry kind '$1'" ;;
  esac
}

# start_server LOG READY_URL CMD...: starts CMD in the background (REG_PID) and waits up to
# 30 s for READY_URL to answer 200 or 401 (a registry's /v2/; 200 only is not required because
# of auth). Returns 1 with START_ERROR set when it exits or does not answer.
start_server() {
  local log=$1 url=$2
  shift 2
  "${ENV_CLEAN[@]}" "$@" >"$log" 2>&1 &
  REG_PID=$!
  local code
  for _ in $(seq 1 300); do
    if ! kill -0 "$REG_PID" 2>/dev/null; then
      START_ERROR="server exited at start"
      wait "$REG_PID" 2>/dev/null || true
      REG_PID=''
      return 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    [[ $code == 200 || $code == 401 ]] && return 0
    sleep 0.1
  done
  START_ERROR="server did not answer $url within 30 s"
  stop_registry
  return 1
}

# stop_registry: TERM, up to 10 s of grace, then KILL (of REG_PID and anything left of its tree).
stop_registry() {
  local pid=$REG_PID
  [[ -n $pid ]] || return 0
  REG_PID=''
  local tree
  tree=$(tree_pids "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  # shellcheck disable=SC2086 # a list of pids
  kill -KILL "$pid" $tree 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# tree_pids PID: PID's descendants (not PID itself), from one `ps` snapshot.
tree_pids() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      in_tree[root] = 1
      do { changed = 0; for (p in parent) if (!(p in in_tree) && (parent[p] in in_tree)) { in_tree[p] = 1; changed = 1 } } while (changed)
      for (p in in_tree) if (p != root) print p
    }'
}

# tree_rss_kib PID: summed VmRSS (ps rss, KiB) of PID and all its descendants at this instant:
# what "resident memory of all the registry's processes together" means. One `ps` per call,
# cheap enough to sample every 200 ms.
tree_rss_kib() {
  ps -e -o pid=,ppid=,rss= | awk -v root="$1" '
    { parent[$1] = $2; rss[$1] = $3 }
    END {
      in_tree[root] = 1
      do { changed = 0; for (p in parent) if (!(p in in_tree) && (parent[p] in in_tree)) { in_tree[p] = 1; changed = 1 } } while (changed)
      for (p in in_tree) s += rss[p]
      print s + 0
    }'
}

# tree_usage PID: sets HWM (sum of each process's VmHWM, KiB: an upper bound of the peak of all
# together), RSS (summed VmRSS now, KiB) and CPU (user + system seconds) of PID and its
# descendants; empty when PID is gone.
tree_usage() {
  HWM='' RSS='' CPU=''
  [[ -r /proc/$1/status ]] && kill -0 "$1" 2>/dev/null || return 1
  local pids
  mapfile -t pids < <(tree_pids "$1")
  pids=("$1" "${pids[@]}")
  local status_files=("${pids[@]/#//proc/}") stat_files
  status_files=("${status_files[@]/%//status}")
  stat_files=("${status_files[@]/%status/stat}")
  HWM=$(awk '/^VmHWM:/ {s += $2} END {print s}' "${status_files[@]}" 2>/dev/null)
  RSS=$(awk '/^VmRSS:/ {s += $2} END {print s}' "${status_files[@]}" 2>/dev/null)
  # utime and stime are fields 14 and 15 of /proc/PID/stat; the command name (field 2) has no spaces here
  CPU=$(awk -v hz="$CLK_TCK" '{s += $14 + $15} END {printf "%.2f", s / hz}' "${stat_files[@]}" 2>/dev/null)
}

# start_rss_sampler PID INTERVAL CSV: in the background (SAMPLER_PID), appends
# "seconds_since_start,rss_kib" of PID's whole tree to CSV every INTERVAL seconds while PID lives.
# bench-report.mjs `record ... rss_csv=CSV` turns the series into peak / at 1 min / end / slope.
SAMPLER_PID=''
start_rss_sampler() {
  local pid=$1 interval=$2 csv=$3
  echo 't_s,rss_kib' >"$csv"
  (
    t0=$(date +%s%N)
    while kill -0 "$pid" 2>/dev/null; do
      ms=$((($(date +%s%N) - t0) / 1000000))
      printf '%d.%03d,%s\n' $((ms / 1000)) $((ms % 1000)) "$(tree_rss_kib "$pid")" >>"$csv"
      sleep "$interval"
    done
  ) &
  SAMPLER_PID=$!
}

stop_rss_sampler() {
  [[ -n $SAMPLER_PID ]] || return 0
  kill -TERM "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=''
}

git_commit() {
  local c
  c=$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [[ -z $(git -C "$BENCH_ROOT" status --porcelain -- src 2>/dev/null) ]] || c="$c+dirty"
  echo "$c"
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }

# run_regbench LIMIT_S STDOUT STDERR ARGS...: one regbench run, killed after LIMIT_S seconds,
# in the background so that a cleanup trap can stop it (stop_regbench). Sets RUN_RC (its exit
# status), RUN_TIMED_OUT (true/false) and RUN_WALL_S (seconds, 2 decimals).
BENCH_PID=''
run_regbench() {
  local limit=$1 stdout=$2 stderr=$3 t0 t1
  shift 3
  t0=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$REGBENCH" "$@" >"$stdout" 2>"$stderr" &
  BENCH_PID=$!
  set +e
  wait "$BENCH_PID"
  RUN_RC=$?
  set -e
  BENCH_PID=''
  t1=$(date +%s.%N)
  RUN_WALL_S=$(elapsed "$t0" "$t1")
  RUN_TIMED_OUT=false
  if [[ $RUN_RC == 124 || $RUN_RC == 137 ]]; then RUN_TIMED_OUT=true; fi
}

# stop_regbench: for cleanup traps, stops a run_regbench still going.
stop_regbench() {
  [[ -n $BENCH_PID ]] || return 0
  kill -TERM "$BENCH_PID" 2>/dev/null || true
  wait "$BENCH_PID" 2>/dev/null || true
  BENCH_PID=''
}
