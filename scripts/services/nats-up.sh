#!/usr/bin/env bash
# Starts nats-server with JetStream for the tests on 127.0.0.1:4290 (its store under DIR) and
# writes to DIR/env the URL the tests read. nats-down.sh DIR stops it.
set -euo pipefail
dir=${1:?usage: nats-up.sh DIR}
mkdir -p "$dir/jetstream"
port=4290
monitor=8290

nats-server -a 127.0.0.1 -p "$port" -m "$monitor" -js -sd "$dir/jetstream" -l "$dir/nats.log" > /dev/null 2>&1 &
echo $! > "$dir/pid"

for _ in $(seq 1 100); do
  # The monitoring endpoint answers once the server (and JetStream) is ready.
  if curl -fsS "http://127.0.0.1:$monitor/healthz?js-enabled-only=true" > /dev/null 2>&1; then
    echo "export BERTH_TEST_NATS_URL=nats://127.0.0.1:$port" > "$dir/env"
    echo "nats: listening on 127.0.0.1:$port with JetStream (pid $(cat "$dir/pid"))"
    exit 0
  fi
  if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "nats: exited during start-up:" >&2
    cat "$dir/nats.log" >&2 || true
    exit 1
  fi
  sleep 0.1
done
echo "nats: no answer on 127.0.0.1:$port after 10 s" >&2
cat "$dir/nats.log" >&2 || true
kill "$(cat "$dir/pid")" 2>/dev/null || true
exit 1
