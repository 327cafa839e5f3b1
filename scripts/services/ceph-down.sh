#!/usr/bin/env bash
# Stops the daemons ceph-up.sh DIR started, by the PIDs it recorded (nothing else), and removes
# the cluster's files from DIR.
set -uo pipefail
dir=${1:?usage: ceph-down.sh DIR}
. "$(dirname "$0")/stop.sh"
stop_pid_files "$dir/rgw.pid" "$dir/osd.pid" "$dir/mon.pid"
rm -rf "${dir:?}/cluster" "$dir/env"
exit 0
