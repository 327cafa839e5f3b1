# Sourced by the *-up.sh scripts. wait_ready NAME LOG ENV_LINE MESSAGE PROBE...: runs PROBE every
# 0.1 s for up to 10 s while the server whose pid is in "$dir/pid" lives. Once it succeeds, writes
# ENV_LINE to "$dir/env", prints MESSAGE and exits 0; if the server dies or never answers, prints
# its log and exits 1.
wait_ready() {
  local name=$1 log=$2 env_line=$3 message=$4
  shift 4
  for _ in $(seq 1 100); do
    if "$@" > /dev/null 2>&1; then
      echo "$env_line" > "$dir/env"
      echo "$name: $message (pid $(cat "$dir/pid"))"
      exit 0
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "$name: exited during start-up:" >&2
      cat "$log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  echo "$name: no answer after 10 s" >&2
  cat "$log" >&2 || true
  kill "$(cat "$dir/pid")" 2>/dev/null || true
  exit 1
}
