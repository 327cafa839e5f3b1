# Sourced by the *-down.sh scripts: stop_pid_files FILE... stops each process recorded in a PID
# file (and nothing else), waits up to 10 s for it to go, kills it if it has not, and removes
# the file. Missing files are fine: the service was not started, or is stopped already.
stop_pid_files() {
  local file pid
  for file in "$@"; do
    [ -f "$file" ] && kill "$(cat "$file")" 2>/dev/null
  done
  for file in "$@"; do
    [ -f "$file" ] || continue
    pid=$(cat "$file")
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    rm -f "$file"
  done
  return 0
}
