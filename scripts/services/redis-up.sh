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

# shellcheck source=scripts/services/wait-ready.sh
source "$(dirname "${BASH_SOURCE[0]}")/wait-ready.sh"
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; }
wait_ready redis "$dir/redis.log" "export BERTH_TEST_REDIS_ADDR=127.0.0.1:$port" "listening on 127.0.0.1:$port" redis_answers
