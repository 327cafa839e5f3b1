#!/usr/bin/env bash
# Starts redis-server for the tests on 127.0.0.1:6390 (no persistence, nothing written outside
# DIR) and writes to DIR/env the address the tests read. redis-down.sh DIR stops it.
set -euo pipefail
dir=${1:?usage: redis-up.sh DIR}
mkdir -p "$dir"
port=6390

redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" \
  --protected-mode yes --logfile "$dir/redis.log" --daemonize no > /dev/null 2>&1 &
echo $! > "$dir/pid"

for _ in $(seq 1 100); do
  if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
    echo "export BERTH_TEST_REDIS_ADDR=127.0.0.1:$port" > "$dir/env"
    echo "redis: listening on 127.0.0.1:$port (pid $(cat "$dir/pid"))"
    exit 0
  fi
  if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "redis: exited during start-up:" >&2
    cat "$dir/redis.log" >&2 || true
    exit 1
  fi
  sleep 0.1
done
echo "redis: no answer on 127.0.0.1:$port after 10 s" >&2
cat "$dir/redis.log" >&2 || true
kill "$(cat "$dir/pid")" 2>/dev/null || true
exit 1
