#!/usr/bin/env bash
# Stops the redis-server that redis-up.sh DIR started (only that process), and waits until it is gone.
set -euo pipefail
dir=${1:?usage: redis-down.sh DIR}
[ -f "$dir/pid" ] || exit 0
pid=$(cat "$dir/pid")
if kill "$pid" 2>/dev/null; then
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -f "$dir/pid"
