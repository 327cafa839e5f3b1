#!/usr/bin/env bash
# Starts a throwaway single-node Ceph cluster for the S3 tests: one monitor, one OSD keeping its
# data in RAM (memstore) and a RADOS Gateway answering S3 on http://127.0.0.1:7480. Everything
# (config, keyring, logs, PID files) lives in DIR; nothing outside it is touched and no systemd
# unit is used. Writes the endpoint, a bucket and generated credentials as `export` lines to
# DIR/env. `ceph-down.sh DIR` stops the daemons by the PIDs recorded here.
#
# Usage: ceph-up.sh DIR        (needs the Debian packages radosgw ceph-mon ceph-osd uuid-runtime)
set -euo pipefail

dir=${1:?usage: ceph-up.sh DIR}
s3_port=7480
mon_port=7491
bucket=berth-test
region=us-east-1

for tool in ceph ceph-authtool monmaptool ceph-mon ceph-osd radosgw radosgw-admin uuidgen curl; do
  command -v "$tool" >/dev/null || { echo "ceph-up: $tool is missing (bash scripts/install-test-deps.sh)" >&2; exit 1; }
done
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$s3_port/"; then
  echo "ceph-up: something already answers on 127.0.0.1:$s3_port (another ceph-up.sh? stop it with ceph-down.sh)" >&2
  exit 1
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -rf "${dir:?}/cluster"
mkdir -p "$dir/cluster/mon.a" "$dir/cluster/osd.0" "$dir/cluster/run" "$dir/cluster/log"
conf="$dir/cluster/ceph.conf"
keyring="$dir/cluster/keyring"
fsid=$(uuidgen)

# One replica of everything, few placement groups, small caches: a test store, not a cluster.
cat > "$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind port min = 7481
ms bind port max = 7489
auth allow insecure global id reclaim = false
run dir = $dir/cluster/run
admin socket = $dir/cluster/run/\$name.asok
log file = $dir/cluster/log/\$name.log
pid file = $dir/cluster/run/\$name.pid
keyring = $keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
[mon]
mon data = $dir/cluster/\$name
[osd]
osd data = $dir/cluster/\$name
osd objectstore = memstore
memstore device bytes = 4294967296
osd memory target = 939524096
osd op num shards = 2
osd op num threads per shard = 1
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$s3_port
rgw data = $dir/cluster/rgw
rgw thread pool size = 64
rgw enable usage log = false
CONF

ceph_args=(-c "$conf")
ceph-authtool --create-keyring "$keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$keyring" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *' >/dev/null
ceph-authtool "$keyring" --gen-key -n client.rgw --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/cluster/monmap" >/dev/null

ceph-mon "${ceph_args[@]}" --mkfs -i a --monmap "$dir/cluster/monmap" --keyring "$keyring"
ceph-mon "${ceph_args[@]}" -i a -f >"$dir/cluster/log/mon.out" 2>&1 &
echo $! > "$dir/mon.pid"

osd_uuid=$(uuidgen)
osd_id=$(timeout 60 ceph "${ceph_args[@]}" osd new "$osd_uuid" 0)
ceph-osd "${ceph_args[@]}" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" 2>>"$dir/cluster/log/osd-mkfs.log"
ceph-osd "${ceph_args[@]}" -i "$osd_id" -f >"$dir/cluster/log/osd.out" 2>&1 &
echo $! > "$dir/osd.pid"

up=
for _ in $(seq 120); do
  if timeout 10 ceph "${ceph_args[@]}" osd stat 2>/dev/null | grep -q '1 up'; then up=1; break; fi
  sleep 0.5
done
[ -n "$up" ] || { echo "ceph-up: the OSD did not come up (logs in $dir/cluster/log)" >&2; exit 1; }

radosgw "${ceph_args[@]}" -n client.rgw -f >"$dir/cluster/log/rgw.out" 2>&1 &
echo $! > "$dir/rgw.pid"
up=
for _ in $(seq 240); do
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$s3_port/"; then up=1; break; fi
  sleep 0.5
done
[ -n "$up" ] || { echo "ceph-up: radosgw did not answer on 127.0.0.1:$s3_port (logs in $dir/cluster/log)" >&2; exit 1; }

# Fresh credentials each time: nothing in the repository is a secret that works anywhere.
access_key="BERTH$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
secret_key=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
radosgw-admin "${ceph_args[@]}" user create --uid=berth-test --display-name=berth-test \
  --access-key="$access_key" --secret-key="$secret_key" >/dev/null

# The first bucket makes RGW create its data pools, which takes a few seconds: retry until done.
created=
for _ in $(seq 120); do
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X PUT \
    --aws-sigv4 "aws:amz:$region:s3" --user "$access_key:$secret_key" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "http://127.0.0.1:$s3_port/$bucket" || true)
  if [ "$status" = 200 ]; then created=1; break; fi
  sleep 0.5
done
[ -n "$created" ] || { echo "ceph-up: could not create bucket $bucket (last status $status)" >&2; exit 1; }

cat > "$dir/env" <<ENV
export BERTH_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
export BERTH_TEST_S3_BUCKET=$bucket
export BERTH_TEST_S3_ACCESS_KEY=$access_key
export BERTH_TEST_S3_SECRET_KEY=$secret_key
export BERTH_TEST_S3_REGION=$region
ENV
echo "ceph-up: S3 on http://127.0.0.1:$s3_port, bucket $bucket (credentials in $dir/env)"
