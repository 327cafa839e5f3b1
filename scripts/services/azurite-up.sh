#!/usr/bin/env bash
# Starts Azurite (the Azure Blob emulator, a devDependency) for the tests, on 127.0.0.1:10000 with
# its data in DIR, and writes to DIR/env what the tests need to reach it. azurite-down.sh DIR stops it.
set -euo pipefail
dir=${1:?usage: azurite-up.sh DIR}
cd "$(dirname "$0")/../.."
mkdir -p "$dir/data"
port=10000

node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$port" --location "$dir/data" \
  --skipApiVersionCheck --disableTelemetry > "$dir/azurite.log" 2>&1 &
echo $! > "$dir/pid"

# Azurite answers any request (400 for the bare root) once it listens.
for _ in $(seq 1 100); do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    # The well-known key of Azurite's development account (public, in Microsoft's documentation).
    cat > "$dir/env" <<ENV
export BERTH_TEST_AZURE_URL=http://127.0.0.1:$port/devstoreaccount1
export BERTH_TEST_AZURE_ACCOUNT=devstoreaccount1
export BERTH_TEST_AZURE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
ENV
    echo "azurite: listening on 127.0.0.1:$port (pid $(cat "$dir/pid"))"
    exit 0
  fi
  if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "azurite: exited during start-up:" >&2
    cat "$dir/azurite.log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "azurite: no answer on 127.0.0.1:$port after 10 s" >&2
cat "$dir/azurite.log" >&2
kill "$(cat "$dir/pid")" 2>/dev/null || true
exit 1
