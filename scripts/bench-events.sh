#!/usr/bin/env bash
# Does event delivery slow pushes? Times `berth bench push-images` against `berth serve` three
# times: with no notification endpoint, with a healthy webhook (a local receiver answering 200)
# and with a dead one (a port nothing listens on), and prints images/s for each.
#
#   scripts/bench-events.sh            COUNT=100 images of LAYERS=2 x SIZE=64KiB, CONCURRENCY=4
#   COUNT=500 ROUNDS=5 scripts/bench-events.sh
#
# The three cases take turns, ROUNDS times (default 3), so that load from other processes on the
# machine falls on all of them; the median of each is printed last.
# Runs the compiled CLI (npm run build first). Not part of npm test.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
count=${COUNT:-100}
layers=${LAYERS:-2}
size=${SIZE:-64KiB}
concurrency=${CONCURRENCY:-4}
rounds=${ROUNDS:-3}
work=$(mktemp -d -t berth-bench-events-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# The healthy endpoint: answers 200 to every POST and counts the events it got.
receiver_port=$(free_port)
node -e '
let events = 0;
require("http").createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => { events += JSON.parse(Buffer.concat(chunks)).events.length; res.end(); });
}).listen(Number(process.argv[1]), "127.0.0.1");
process.on("SIGTERM", () => { console.error(`receiver: ${events} events`); process.exit(0); });
' "$receiver_port" &
pids+=($!)
dead_port=$(free_port)

# run_case NAME [endpoint YAML lines...]: starts berth serve, pushes, prints images/s.
run_case() {
  local name=$1; shift
  local port dir
  port=$(free_port)
  dir="$work/$name"
  mkdir -p "$dir"
  {
    printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$dir/data" "$port"
    if (($# > 0)); then printf 'notifications:\n  endpoints:\n'; printf '%s\n' "$@"; fi
  } > "$dir/config.yml"
  REGISTRY_HTTP_WORKERS=1 node "$root/bin/berth.js" serve "$dir/config.yml" > "$dir/serve.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/v2/" > /dev/null 2>&1 && break; sleep 0.1; done
  local rate
  rate=$(node "$root/bin/berth.js" bench push-images --registry "127.0.0.1:$port" --insecure --count "$count" \
    --layers "$layers" --size "$size" --concurrency "$concurrency" --json 2> "$dir/bench.log" |
    node -e 'let t="";process.stdin.on("data",(c)=>t+=c).on("end",()=>console.log(JSON.parse(t).rates.images_per_s))')
  local rss
  rss=$(awk '/^VmRSS/ {print int($2/1024) " MiB"}' "/proc/$pid/status" 2>/dev/null || echo '?')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [[ $name == warm-up ]] && return
  printf '  %-20s %8s images/s   server RSS after: %s\n' "$name" "$rate" "$rss"
  echo "$rate" >> "$work/rates-${name// /-}"
}

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "push-images: $count images, $layers layers of $size, concurrency $concurrency"
# A first run that is not reported: the page cache and the disk's state otherwise favour later runs.
run_case warm-up
for round in $(seq 1 "$rounds"); do
  echo "round $round"
  run_case "no endpoint"
  run_case "healthy endpoint" "    - name: healthy" "      url: http://127.0.0.1:$receiver_port/events"
  run_case "dead endpoint" "    - name: dead" "      url: http://127.0.0.1:$dead_port/events" "      timeout: 1s" "      threshold: 3" "      backoff: 1s"
done
echo "median of $rounds rounds:"
for name in "no endpoint" "healthy endpoint" "dead endpoint"; do
  printf '  %-20s %8s images/s\n' "$name" "$(median "$work/rates-${name// /-}")"
done
