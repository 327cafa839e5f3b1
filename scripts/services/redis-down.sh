#!/usr/bin/env bash
# Stops the redis-server that redis-up.sh DIR started (only that process), and waits until it is gone.
set -uo pipefail
dir=${1:?usage: redis-down.sh DIR}
. "$(dirname "$0")/stop.sh"
stop_pid_files "$dir/pid"
