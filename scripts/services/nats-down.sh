#!/usr/bin/env bash
# Stops the nats-server that nats-up.sh DIR started (only that process), and waits until it is gone.
set -uo pipefail
dir=${1:?usage: nats-down.sh DIR}
. "$(dirname "$0")/stop.sh"
stop_pid_files "$dir/pid"
