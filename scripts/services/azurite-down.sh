#!/usr/bin/env bash
# Stops the Azurite that azurite-up.sh DIR started (only that process), and waits until it is gone.
set -uo pipefail
dir=${1:?usage: azurite-down.sh DIR}
. "$(dirname "$0")/stop.sh"
stop_pid_files "$dir/pid"
