#!/usr/bin/env bash
# Stops the daemons ceph-up.sh DIR started, by the PIDs it recorded (nothing else), and removes
# the cluster's files from DIR.
set -uo pipefail

dir=${1:?usage: ceph-down.sh DIR}
daemons=(rgw osd mon)
for daemon in "${daemons[@]}"; do
  pid_file="$dir/$daemon.pid"
  [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null
done
for daemon in "${daemons[@]}"; do
  pid_file="$dir/$daemon.pid"
  [ -f "$pid_file" ] || continue
  pid=$(cat "$pid_file")
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  rm -f "$pid_file"
done
rm -rf "${dir:?}/cluster" "$dir/env"
exit 0
