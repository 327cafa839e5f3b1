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

# shellcheck source=scripts/services/wait-ready.sh
source "$(dirname "${BASH_SOURCE[0]}")/wait-ready.sh"
# The monitoring endpoint answers once the server (and JetStream) is ready.
wait_ready nats "$dir/nats.log" "export BERTH_TEST_NATS_URL=nats://127.0.0.1:$port" \
  "listening on 127.0.0.1:$port with JetStream" \
  curl -fsS "http://127.0.0.1:$monitor/healthz?js-enabled-only=true"
